"""Our numbers beside the paper's (`reporting`): one reference format, one join, one wide table."""
import math

import pandas as pd
import pytest

from cibtools import paper, reporting


def test_paper_reference_has_one_format_and_the_first_table_wins():
    ref = reporting.paper_reference("table8", "table1")
    assert ref[("mnist", "vib", "CW-20")] == (paper.TABLE8["mnist"]["vib"], ref[("mnist", "vib", "CW-20")][1])
    assert math.isnan(ref[("mnist", "vib", "CW-20")][1])  # Table 8 gives no std
    assert ref[("fashion_mnist", "causalib", "PGD-20")] == paper.TABLE1["fashion_mnist"]["causalib"]["PGD-20"]
    both = reporting.paper_reference("table1", "table4")
    assert both[("mnist", "vib", "clean")] == paper.TABLE1["mnist"]["vib"]["clean"]  # with Table 1's std
    assert both[("mnist", "vib", "AA-L2")][0] == paper.TABLE4["mnist"]["vib"][2]
    with pytest.raises(ValueError, match="table1"):
        reporting.paper_reference("table9")


def test_single_run_rows_beside_the_paper_drop_the_eot_suffix_and_pivot():
    rows = pd.DataFrame([
        dict(dataset="mnist", method="vib", mode="sample (S=12)", attack="PGD-20 EOT-4", eot=4, accuracy=10.0, n=100),
        dict(dataset="mnist", method="vib", mode="sample (S=12)", attack="CW-20 EOT-4", eot=4, accuracy=12.5, n=100),
        dict(dataset="mnist", method="vib", mode="sample (S=12)", attack="FGSM", eot=1, accuracy=30.0, n=100),
    ])
    joined = reporting.beside_paper(reporting.summarise_seeds(rows), {("mnist", "vib", "PGD-20"): (41.84, 0.33)})
    assert list(joined["attack"]) == ["PGD-20", "CW-20", "FGSM"] and list(joined["eot"]) == [4, 4, 1]
    assert joined.loc[0, "diff"] == 10.0 - 41.84 and joined.loc[0, "seeds"] == 1 and joined.loc[0, "n"] == 100
    assert joined["paper_mean"].isna().tolist() == [False, True, True]
    wide = reporting.wide_table(joined, ("ours", "n", "paper", "diff"))
    assert list(wide.columns.get_level_values(0).unique()) == ["PGD-20", "CW-20", "FGSM"]
    assert wide[("PGD-20", "ours")].iloc[0] == "10.00" and wide[("PGD-20", "paper")].iloc[0] == "41.84 ± 0.33"
    assert wide[("CW-20", "paper")].iloc[0] == "" and wide[("PGD-20", "n")].iloc[0] == 100


def test_seed_summary_beside_the_paper_wide_and_verdicts():
    results = pd.DataFrame([dict(dataset="mnist", method="vib", mode="mean", attack="FGSM", accuracy=a) for a in (4.0, 6.0)])
    joined = reporting.beside_paper(reporting.summarise_seeds(results), reporting.paper_reference("table1"))
    assert joined.loc[0, "ours_mean"] == 5.0 and joined.loc[0, "seeds"] == 2
    assert joined.loc[0, "diff"] == 5.0 - paper.TABLE1["mnist"]["vib"]["FGSM"][0]
    wide = reporting.wide_table(joined)
    assert wide[("FGSM", "paper")].iloc[0] == "66.06 ± 0.21" and wide[("FGSM", "ours")].iloc[0].startswith("5.00 ± ")
    assert wide.index[0] == ("mnist", "VIB", "mean")
    (line,) = reporting.verdicts(joined)
    assert line.startswith("mnist / VIB [mean] / FGSM: ours 5.00 vs paper 66.06") and "lower" in line
    assert reporting.verdicts(joined, tolerance=100.0) == []


def test_a_reference_in_another_shape_is_refused_with_the_fix():
    summary = reporting.summarise_seeds(pd.DataFrame([dict(dataset="mnist", method="vib", mode="mean", attack="FGSM",
                                                           accuracy=5.0)]))
    with pytest.raises(TypeError, match="paper_reference"):
        reporting.beside_paper(summary, paper.TABLE1["mnist"])
