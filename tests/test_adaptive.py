import numpy as np
import pandas as pd
import pytest
import torch

from cibtools import adaptive
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
    model.predict_mode = "sample"
    return model


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
