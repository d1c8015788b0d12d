"""Reading the paper-settings rows (`verdict`): the factor table, the gaps, and part 3's ablation, on made-up rows."""
import math

import pandas as pd

from cibtools import paper, verdict


def _rows(variant, fgsm, pgd, epochs=50, mode="mean", protocol="sound", method="vib", seed=0):
    base = dict(method=method, variant=variant, dataset="mnist", seed=seed, epochs=epochs, mode=mode, protocol=protocol,
                n=10000)
    return [dict(base, kind="clean", eps_255=0, accuracy=98.0),
            dict(base, kind="fgsm", eps_255=50, accuracy=fgsm), dict(base, kind="pgd", eps_255=50, accuracy=pgd),
            dict(base, kind="fgsm", eps_255=16, accuracy=fgsm + 20), dict(base, kind="pgd", eps_255=16, accuracy=pgd + 20)]


def test_factor_table_and_gaps_ignore_the_ablation_shards():
    rows = pd.DataFrame(_rows("ours", 4.0, 0.0, mode="sample") + _rows("ours", 1.0, 0.0, epochs=4, mode="sample")
                        + _rows("authors", 67.0, 26.0, mode="sample") + _rows("authors", 1.0, 0.0, epochs=4, mode="sample")
                        + _rows("authors_softplus_sigma", 5.0, 0.0, mode="sample"))
    factors = verdict.factor_table(rows)
    assert len(factors) == 4 and set(factors["model"]) == {"ours", "authors"}
    assert factors["paper_FGSM"].eq(paper.TABLE1["mnist"]["vib"]["FGSM"][0]).all()
    gaps = verdict.gaps_closed(factors).set_index("factor")
    # ours ([0, 1] inputs) and the authors' model ([-1, 1]) differ in two factors: no pair isolates either
    assert gaps.loc["model", "pairs"] == 0 and gaps.loc["inputs", "pairs"] == 0
    assert gaps.loc["epochs", "FGSM_points"] == ((4 - 1) + (67 - 1)) / 2 and gaps.loc["protocol", "pairs"] == 0
    more = pd.DataFrame(list(rows.to_dict("records")) + _rows("authors_unit_input", 30.0, 5.0, mode="sample")
                        + _rows("signed", 20.0, 2.0, mode="sample")
                        + [dict(_rows("authors", 0, 0, mode="sample")[2], protocol="authors_pgd", kind="authors_pgd",
                                accuracy=40.0)])
    gaps = verdict.gaps_closed(verdict.factor_table(more)).set_index("factor")
    assert gaps.loc["model", "pairs"] == 2 and gaps.loc["model", "FGSM_points"] == ((30 - 4) + (67 - 20)) / 2
    assert gaps.loc["inputs", "pairs"] == 2 and gaps.loc["inputs", "PGD_points"] == ((2 - 0) + (26 - 5)) / 2
    assert gaps.loc["authors' PGD", "pairs"] == 1 and gaps.loc["authors' PGD", "PGD_points"] == 40.0 - 26.0
    assert math.isnan(gaps.loc["authors' PGD", "FGSM_points"])
    table = verdict.paper_settings_table(rows)
    assert "authors_softplus_sigma" not in set(table["variant"]) and not table["label"].isna().any()


def test_bottleneck_ablation_says_which_part_matters():
    rows = pd.DataFrame(_rows("ours", 4.0, 0.0) + _rows("authors", 67.0, 26.0) + _rows("authors_softplus_sigma", 5.0, 0.0)
                        + _rows("authors_unit_input", 65.0, 25.0) + _rows("authors", 1.0, 0.0, epochs=4)
                        + _rows("authors", 90.0, 90.0, seed=1) + _rows("authors", 90.0, 90.0, mode="sample"))
    table = verdict.bottleneck_ablation(rows)
    assert list(table["variant"]) == ["authors", "authors_unit_input", "authors_softplus_sigma", "ours"]
    assert list(table["d FGSM 50"]) == [0.0, -2.0, -62.0, -63.0] and list(table["PGD-20 16"]) == [46.0, 45.0, 20.0, 20.0]
    unit, sigma, missing = verdict.ablation_lines(table)
    assert "inputs in [0, 1]" in unit and "does not matter" in unit
    assert unit.startswith("With inputs in [0, 1]") and "PGD-20 45.0% at 16/255 (full model 46.0%)" in unit
    assert "softplus" in sigma and "-62.0" in sigma and "this part matters" in sigma
    assert "vib-authors_linear_heads-mnist-s0" in missing and "vib-authors_1draw-mnist-s0" in missing
    (todo,) = verdict.ablation_lines(verdict.bottleneck_ablation(pd.DataFrame(_rows("authors", 67.0, 26.0))))
    assert "not run yet (0 of 4" in todo
    assert math.isnan(verdict.bottleneck_ablation(pd.DataFrame(_rows("ours", 4.0, 0.0)))["d FGSM 50"].iloc[0])


def test_scale_lines_give_the_range_per_variant():
    scales = pd.DataFrame({"method": ["vib", "causalib", "vib"], "variant": ["ours", "ours", "authors"],
                           "dataset": "mnist", "seed": 0, "sigma_mean": [0.95, 0.98, 0.97], "snr": [0.27, 0.29, 0.26]})
    ours, authors = verdict.scale_lines(scales)
    assert ours.startswith("ours: |sigma| 0.95-0.98, sd(mu) / |sigma| 0.27-0.29 (VIB mnist s0, CausalIB mnist s0)")
    assert authors.startswith("authors: |sigma| 0.97-0.97")
    assert "paper_settings scales" in verdict.scale_lines(None)[0]


def test_conclusion_quotes_the_stronger_attacks_with_their_own_n():
    rows = pd.DataFrame(_rows("ours", 4.0, 0.0, mode="sample") + _rows("authors", 67.0, 26.0, mode="sample"))
    factors = verdict.factor_table(rows)
    strong = pd.DataFrame({"shard": "vib-authors-mnist-s0", "kind": ["clean", "pgd", "autoattack", "autoattack", "autoattack"],
                           "attack": ["clean", "PGD-20 x5 restarts", "AA-LINF", "AA-LINF", "AA-LINF"],
                           "eps_255": [0, 50, 50, 50, 16], "n": [10000, 10000, 100, 1000, 1000],
                           "accuracy": [98.7, 19.3, 11.0, 12.5, 3.0], "method": "vib", "variant": "authors",
                           "dataset": "mnist", "seed": 0})
    text = verdict.conclusion(factors, verdict.gaps_closed(factors), verdict.paper_settings_table(rows), strong=strong)
    line = next(t for t in text.splitlines() if "Stronger attacks" in t)
    assert "vib-authors-mnist-s0" in line and "n = 10000 unless noted" in line
    assert "PGD-20 x5 restarts 19.3%" in line and "AA-LINF (n = 1000) 12.5%" in line and "clean" not in line
    assert "11.0" not in line  # of an attack run on several sizes, only the largest is quoted
    assert "3.0" not in line  # another budget's row is not the paper's budget
    theirs = dict(_rows("authors", 0, 0, mode="sample")[2], protocol="authors_pgd", kind="authors_pgd", accuracy=28.5)
    factors = verdict.factor_table(pd.DataFrame(rows.to_dict("records") + [theirs]))
    theirs_text = verdict.conclusion(factors, verdict.gaps_closed(factors), verdict.paper_settings_table(rows))
    # the best combination has both attacks (their PGD has no FGSM); their PGD is quoted on the same model
    assert "the best of 2 measured combinations with both attacks" in theirs_text and "nan" not in theirs_text
    assert ("Their PGD as their code computes it (protocol authors_pgd) keeps 28.5% of the same model (+2.5 points): "
            "not within 5 points of the paper's 41.84%.") in theirs_text
    only_theirs = verdict.factor_table(pd.DataFrame([theirs]))  # no cell with both attacks: said, no nan
    only_text = verdict.conclusion(only_theirs, verdict.gaps_closed(only_theirs), verdict.paper_settings_table(rows))
    assert "VIB on MNIST at 50/255: no measured combination has both FGSM and PGD yet." in only_text
    assert "nan" not in only_text
    assert "At 16/255, AutoAttack (mean prediction, n = 1000) leaves: VIB (authors' model) mnist s0 3.0%." in text
    assert "AA-LINF, leaves 12.5%, 54.5 points below FGSM and 13.5 below PGD." in text
    broken = strong.assign(accuracy=[98.7, 19.3, 0.0, 0.0, 0.0])
    text = verdict.conclusion(factors, verdict.gaps_closed(factors), verdict.paper_settings_table(rows), strong=broken)
    assert "leaves 0.0%, 67.0 points below FGSM and 26.0 below PGD: at this budget the model is not robust" in text


def test_small_budget_lines_list_autoattack_per_shard_on_its_largest_n():
    strong = pd.DataFrame({"shard": ["vib-ours-mnist-s0", "vib-ours-mnist-s0", "baseline-ours-mnist-s0", "vib-authors-mnist-s0"],
                           "method": ["vib", "vib", "baseline", "vib"], "variant": ["ours", "ours", "ours", "authors"],
                           "dataset": "mnist", "seed": 0, "kind": "autoattack", "attack": "AA-LINF",
                           "eps_255": [16, 16, 16, 50], "n": [100, 1000, 1000, 1000], "accuracy": [30.0, 17.3, 13.1, 0.0]})
    (line,) = verdict.small_budget_lines(strong)
    assert line == ("At 16/255, AutoAttack (mean prediction, n = 1000) leaves: VIB mnist s0 17.3%; "
                    "Baseline mnist s0 13.1%.")
    assert verdict.small_budget_lines(strong, eps_255=8) == [] and verdict.small_budget_lines(None) == []


def test_other_dataset_lines_put_the_authors_model_beside_the_paper_and_ours():
    def fashion(variant, fgsm, pgd, seed=0, method="vib"):
        return [dict(r, dataset="fashion_mnist") for r in _rows(variant, fgsm, pgd, seed=seed, method=method)]
    rows = pd.DataFrame(fashion("authors", 20.0, 2.0) + fashion("ours", 0.4, 0.0) + fashion("ours", 0.6, 0.0, seed=1)
                        + _rows("authors", 67.0, 26.0))
    (line,) = verdict.other_dataset_lines(verdict.paper_settings_table(rows))
    fgsm, pgd = paper.TABLE1["fashion_mnist"]["vib"]["FGSM"][0], paper.TABLE1["fashion_mnist"]["vib"]["PGD-20"][0]
    assert line.startswith("VIB with the authors' model on fashion_mnist at 50/255 (1 seed(s), 50 epochs, mean prediction, "
                           f"n = 10000): FGSM 20.0% against the paper's {fgsm:.2f}% ({20 - fgsm:+.1f} points; "
                           "our model 0.5%, 2 seed(s)), PGD-20 2.0%")
    assert fgsm - 20 > 5 > pgd - 2 and line.endswith("within 5 points of the paper: PGD-20.")
    (far,) = verdict.other_dataset_lines(verdict.paper_settings_table(rows), tolerance=0.1)
    assert far.endswith("within 0.1 points of the paper: neither.")
    assert verdict.other_dataset_lines(verdict.paper_settings_table(pd.DataFrame(_rows("authors", 67.0, 26.0)))) == []
