import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from cibtools import adaptive, adaptive_plots, paper
from cibtools.config import TrainConfig
from cibtools.evaluate import AttackSpec
from cibtools.train import model_for

EPS = 25 / 255
COLUMNS = {"method", "dataset", "attack", "eps", "steps", "restarts", "eot", "loss", "mode", "attacked",
           "protocol", "accuracy", "n", "correct"}


@pytest.fixture(scope="module")
def test_data(mnist_small):
    _, test = mnist_small
    return test.subset(200, seed=0)


@pytest.fixture
def vib():
    torch.manual_seed(0)
    model = model_for(TrainConfig("vib")).eval()
    with model.prediction("sample"):
        yield model


def test_head_is_a_prefix(test_data):
    small = test_data.head(20)
    assert len(small) == 20 and torch.equal(small.images, test_data.images[:20])
    assert test_data.head(None) is test_data and test_data.head(10_000) is test_data


def test_prediction_context_restores_mode_and_samples(vib):
    with vib.prediction("mean", 1):
        assert vib.predict_mode == "mean" and vib.predict_samples == 1
    assert vib.predict_mode == "sample" and vib.predict_samples == 12
    with pytest.raises(RuntimeError):
        with vib.prediction("sample", 3):
            raise RuntimeError("boom")
    assert vib.predict_samples == 12


def test_authors_view_of_ciiv_runs_one_fixation_loop(test_data):
    ciiv = model_for(TrainConfig("ciiv")).eval()
    seen = []
    original = ciiv.input_sampler.forward
    ciiv.input_sampler.forward = lambda x, n: seen.append(n) or original(x, n)
    view = adaptive.AttackView(ciiv, "sample", 1)
    view(test_data.images[:4])
    ciiv(test_data.images[:4])
    assert seen == [1, 9] and ciiv.predict_samples == 9
    assert view.description == "sample (S=1)"


def test_curves_and_protocols_return_the_expected_columns(vib, trained_baseline, test_data):
    data = test_data.head(16)
    eot = adaptive.eot_curve(vib, data, EPS, (1, 2), steps=2)
    assert COLUMNS <= set(eot.columns) and list(eot["eot"]) == [1, 2]
    assert set(eot["mode"]) == {"sample (S=12)"} and (eot["n"] == 16).all()
    steps = adaptive.steps_curve(trained_baseline, data, EPS, (2, 4), restarts=2)
    assert list(steps["steps"]) == [2, 4] and (steps["restarts"] == 2).all()
    assert steps["correct"].map(len).eq(16).all()
    protocols = adaptive.protocol_comparison(vib, data, EPS, steps=2, eot=2)
    assert list(protocols["protocol"]) == list(adaptive.PROTOCOLS)
    assert set(protocols["mode"]) == {"sample (S=12)"}  # always evaluated on the reported prediction
    assert protocols.set_index("protocol").loc["authors", "attacked"] == "sample (S=1)"
    assert protocols.set_index("protocol").loc["authors", "loss"] == "ce_on_softmax"
    deterministic = adaptive.protocol_comparison(trained_baseline, data, EPS, steps=2)
    assert list(deterministic["protocol"]) == ["authors", "authors + logits", "sound"]
    grid = adaptive.mode_grid(vib, data, EPS, steps=2, eot=2)
    assert len(grid) == 4 and set(grid["attacked"]) == {"mean", "sample (S=12)"}
    assert vib.predict_mode == "sample"


def test_more_pgd_steps_never_help_the_defender_much(trained_baseline, test_data):
    curve = adaptive.steps_curve(trained_baseline, test_data, EPS, (5, 40))
    acc = curve.set_index("steps")["accuracy"]
    assert acc[40] <= acc[5] + 2.0


def test_softmax_ce_attack_is_no_stronger_than_logits_ce(trained_baseline, test_data):
    data = test_data.head(100)
    table = adaptive.protocol_comparison(trained_baseline, data, EPS, protocols=("authors", "authors + logits"))
    acc = table.set_index("protocol")["accuracy"]
    assert acc["authors"] >= acc["authors + logits"] - 2.0


def test_worst_case_is_below_every_attack(trained_baseline, test_data):
    specs = [AttackSpec("fgsm", EPS), AttackSpec("pgd", EPS, steps=5), AttackSpec("cw", EPS, steps=5)]
    table = pd.concat([
        adaptive.evaluate(trained_baseline, test_data, specs[:2], method="baseline"),
        adaptive.evaluate(trained_baseline, test_data.head(120), specs[2:], method="baseline"),
        adaptive.evaluate(trained_baseline, test_data, [AttackSpec("clean")], method="baseline"),
    ], ignore_index=True)
    worst = adaptive.worst_case(table).iloc[0]
    attacks = table[table["kind"] != "clean"]
    assert worst["attacks"] == 3 and worst["per_example_n"] == 120
    assert worst["min_accuracy"] == attacks["accuracy"].min()
    for correct in attacks["correct"]:
        assert worst["per_example_accuracy"] <= 100.0 * correct[:120].mean() + 1e-9
    assert "correct" not in adaptive.without_examples(table).columns
    minimum_only = adaptive.worst_case(adaptive.without_examples(table)).iloc[0]
    assert np.isnan(minimum_only["per_example_accuracy"]) and minimum_only["min_accuracy"] == worst["min_accuracy"]


def test_autoattack_runs_each_reported_prediction_and_skips_empty_subsets(vib, trained_baseline, test_data,
                                                                           monkeypatch):
    calls = []  # AutoAttack itself takes a minute even on 3 images: record what would be attacked instead

    def fake_evaluate(model, data, specs, method=""):
        calls.append((method, model.prediction_label, len(data), [s.label for s in specs], specs[1].version))
        return pd.DataFrame({"method": [method]})

    monkeypatch.setattr(adaptive, "evaluate", fake_evaluate)
    sizes = dict(aa_limit=3, aa_rand_limit=0, aa_ciiv_limit=0)
    rows, skipped = adaptive.autoattack({"mnist": {"baseline": trained_baseline, "vib": vib}}, {"mnist": test_data},
                                        sizes, 8 / 255, 0.5, threads=1, workers=1)
    assert calls == [("baseline", "deterministic", 3, ["clean", "AA-LINF", "AA-L2"], "standard"),
                     ("vib", "mean", 3, ["clean", "AA-LINF", "AA-L2"], "standard")]
    assert list(rows["method"]) == ["baseline", "vib"] and list(rows["version"]) == ["standard", "standard"]
    assert skipped == ["mnist / VIB [sample (S=12)]: AutoAttack rand skipped (subset size 0)"]
    sizes["aa_rand_limit"] = 2
    calls.clear()
    adaptive.autoattack({"mnist": {"vib": vib}}, {"mnist": test_data}, sizes, 8 / 255, 0.5, workers=1)
    assert calls[1][1:3] == ("sample (S=12)", 2) and calls[1][4] == "rand"
    assert vib.predict_mode == "sample"  # restored after the mean prediction was attacked
    calls.clear()
    rows, _ = adaptive.autoattack({"mnist": {"vib": vib}}, {"mnist": test_data}, sizes, 8 / 255, workers=1)  # L-inf only
    assert [c[3] for c in calls] == [["clean", "AA-LINF"]] * 2 and list(rows["version"]) == ["standard", "rand"]


def test_autoattack_by_two_worker_processes_gives_the_rows_of_one_process(vib, trained_baseline, test_data):
    # eps = 0.5 breaks these smoke models at APGD-CE's first steps, so that AutoAttack takes seconds
    models, data = {"mnist": {"baseline": trained_baseline, "vib": vib}}, {"mnist": test_data}
    sizes = dict(aa_limit=6, aa_rand_limit=0, aa_ciiv_limit=0)
    one, _ = adaptive.autoattack(models, data, sizes, 0.5, workers=1)
    two, _ = adaptive.autoattack(models, data, sizes, 0.5, workers=2)
    assert list(two["method"]) == ["baseline", "baseline", "vib", "vib"] and list(two["mode"]) == list(one["mode"])
    pd.testing.assert_series_equal(one["accuracy"], two["accuracy"])
    assert all(np.array_equal(a, b) for a, b in zip(one["correct"], two["correct"]))


def test_worst_case_rows_meet_the_paper_at_the_matching_budget_only():
    worst = pd.DataFrame([dict(dataset="mnist", method="causalib", mode="mean", norm=norm, eps_255=eps, attacks=2,
                               strongest_attack="PGD-20", min_accuracy=50.0, min_n=10, per_example_accuracy=40.0,
                               per_example_n=10) for norm, eps in (("linf", 50), ("linf", 8), ("linf", 25), ("l2", 127.5))])
    out = adaptive.worst_beside_paper(worst, {"mnist": 50}, aa_linf_eps_255=8).set_index(["norm", "eps_255"])
    t1, t4 = paper.TABLE1["mnist"]["causalib"]["PGD-20"][0], paper.TABLE4["mnist"]["causalib"]
    assert out.loc[("linf", 50), "paper"] == t1 and out.loc[("linf", 50), "diff"] == 40.0 - t1
    assert out.loc[("linf", 8), "paper"] == t4[1] and out.loc[("l2", 127.5), "paper"] == t4[2]
    assert np.isnan(out.loc[("linf", 25), "paper"]) and out.loc[("linf", 25), "paper_source"] == ""
    assert list(out.index.get_level_values("norm")) == ["linf", "linf", "linf", "l2"]  # sorted: L-inf first, eps down
    assert {"robust", "n_robust", "strongest", "strongest_acc", "strongest_n"} <= set(out.columns)


def test_adaptive_figures_draw_one_panel_per_dataset_and_curve():
    matplotlib.use("Agg")
    base = dict(dataset="mnist", method="vib", who="VIB [sample (S=12)]", n=8, restarts=1)
    curves = pd.DataFrame([dict(base, protocol="EOT curve", eot=k, steps=20, accuracy=50.0 - k) for k in (1, 4)]
                          + [dict(base, protocol="steps curve", eot=4, steps=s, accuracy=40.0 - s) for s in (5, 20)])
    fig = adaptive_plots.curves_figure(curves, ["mnist"], (1, 4), (5, 20), 8, 20, "smoke")
    assert len(fig.axes) == 2 and all(len(ax.lines) == 1 for ax in fig.axes)
    prot = pd.DataFrame([dict(base, protocol=p, accuracy=10.0 * i) for i, p in enumerate(adaptive.PROTOCOLS)])
    fig = adaptive_plots.protocols_figure(prot, ["mnist"], {"mnist": 50})
    assert len(fig.axes[0].patches) == len(adaptive.PROTOCOLS) and "50/255" in fig.axes[0].get_title()


def test_sentences_read_the_worst_case_and_protocol_tables():
    rows = pd.DataFrame([dict(dataset="mnist", method=m, mode=mode, norm="linf", eps_255=50, attacks=3, robust=r,
                              n_robust=10, strongest="PGD-20", strongest_acc=r + 5, strongest_n=10, paper=40.0,
                              paper_source="Table 1 PGD-20", diff=r - 40.0)
                         for m, mode, r in (("baseline", "deterministic", 0.0), ("vib", "mean", 39.0))])
    assert list(adaptive.with_who(rows)["who"]) == ["Baseline [deterministic]", "VIB [mean]"]
    low, close = adaptive.worst_case_lines(rows, tolerance=2.0)
    assert "40.0 points lower than the paper's 40.0%" in low and "all 3 attacks" in low
    assert "within 2.0 points of" in close
    (best,) = adaptive.most_robust_lines(rows, {"mnist": 50}, ["baseline", "vib"])
    assert "is VIB [mean] with 39.0%" in best
    assert f"{paper.TABLE1['mnist']['vib']['PGD-20'][0]:.1f}% for its best model (VIB)" in best
    prot = pd.DataFrame({"dataset": "mnist", "who": ["VIB [sample (S=12)]", "Baseline [deterministic]"], "n": 8,
                         "authors": [50.0, 10.0], "authors + logits": [40.0, 10.0],
                         "authors + reported prediction": [45.0, float("nan")], "sound": [20.0, 10.0]})
    prot = prot.set_index(["dataset", "who", "n"]).assign(**{"authors - sound": lambda t: t["authors"] - t["sound"]})
    gap, shortcuts = adaptive.protocol_gap_lines(prot, ["mnist"])
    assert "15.0 points more accuracy" in gap and "largest: VIB [sample (S=12)], 30.0 points" in gap
    assert "by -5.0 points" in shortcuts and "softmax by -5.0" in shortcuts


def test_eot_gradient_agreement_grows_with_k_and_is_full_for_a_deterministic_prediction(trained_baseline, test_data):
    """Notebook 03's check: a deterministic prediction agrees fully at every k; a random one (RS's noisy copies)
    agrees better with the expected gradient as k grows, and never fully at one pass."""
    data = test_data.head(10)
    det = adaptive.eot_gradient_agreement(trained_baseline, data, [1, 4], reference=8, method="baseline")
    assert list(det.columns) == ["method", "mode", "eot", "cosine", "sign agreement", "n", "reference"]
    assert (det["cosine"] > 0.9999).all() and (det["sign agreement"] == 100.0).all() and (det["n"] == 10).all()
    torch.manual_seed(0)
    rs = model_for(TrainConfig("rs")).eval()
    with rs.prediction("sample", 1):  # one noisy copy per pass: the noisiest gradient
        noisy = adaptive.eot_gradient_agreement(rs, data, [1, 16], reference=32, method="rs")
    assert noisy["cosine"].iloc[0] < noisy["cosine"].iloc[1] < 1.0 and noisy["sign agreement"].iloc[0] < 100.0
    fig = adaptive_plots.eot_agreement_figure(pd.concat([det, noisy]), {"baseline": "Baseline", "rs": "RS"}, "t")
    assert len(fig.axes) == 2 and all(len(ax.get_lines()) == 2 for ax in fig.axes)
    with pytest.raises(ValueError, match="reference"):
        adaptive.eot_gradient_agreement(trained_baseline, data, [1], reference=0)
    with pytest.raises(ValueError, match="eot"):
        adaptive.eot_gradient_agreement(trained_baseline, data, [0], reference=4)
