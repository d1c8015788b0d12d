"""Our numbers beside the paper's: one module (`reporting`) for seed summaries and single-run rows."""
import pandas as pd

from cibtools import reporting


def test_join_paper_matches_attacks_without_their_eot_suffix_and_pivots():
    rows = pd.DataFrame([
        dict(dataset="mnist", method="vib", mode="sample (S=12)", attack="PGD-20 EOT-4", eot=4, accuracy=10.0, n=100,
             correct=None),
        dict(dataset="mnist", method="vib", mode="sample (S=12)", attack="CW-20 EOT-4", eot=4, accuracy=12.5, n=100,
             correct=None),
    ])
    joined = reporting.join_paper(rows, {("mnist", "vib", "PGD-20"): 41.84})
    assert "correct" not in joined and list(joined["attack"]) == ["PGD-20", "CW-20"]
    assert joined.loc[0, "diff"] == 10.0 - 41.84 and pd.isna(joined.loc[1, "paper"])
    wide = reporting.wide(joined)
    assert list(wide.columns.get_level_values(0).unique()) == ["PGD-20", "CW-20"]
    assert wide[("PGD-20", "paper")].iloc[0] == 41.84


def test_seed_summary_beside_the_paper_and_wide():
    results = pd.DataFrame([dict(dataset="mnist", method="vib", mode="mean", attack="FGSM", accuracy=a) for a in (4.0, 6.0)])
    joined = reporting.beside_paper(reporting.summarise_seeds(results), {"vib": {"FGSM": (66.06, 1.0)}})
    assert joined.loc[0, "ours_mean"] == 5.0 and joined.loc[0, "diff"] == 5.0 - 66.06
    wide = reporting.wide_table(joined)
    assert wide[("FGSM", "paper")].iloc[0] == "66.06 ± 1.00" and wide[("FGSM", "ours")].iloc[0].startswith("5.00 ± ")
