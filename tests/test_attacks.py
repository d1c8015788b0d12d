"""cibtools.attacks and the scoring path of cibtools.evaluate (AttackSpec, craft, robust_accuracy, sweep tables)."""
import math

import pandas as pd
import pytest
import torch

from cibtools import attacks
from cibtools.evaluate import (AttackSpec, craft, crossing_sentences, crossing_table, predict, robust_accuracy,
                               sweep_checks, sweep_checks_report)
from cibtools.train import model_for
from cibtools.config import TrainConfig

EPS = 50 / 255


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, test = mnist_small
    return test.images[:200], test.labels[:200]


def _accuracy(model, x, y):
    return (predict(model, x) == y).float().mean().item()


@pytest.mark.parametrize("name", ["fgsm", "pgd", "cw", "pgd_l2"])
def test_attacks_stay_in_ball_and_box(trained_baseline, batch, name):
    x, y = batch
    eps = 1.5 if name == "pgd_l2" else EPS
    if name == "fgsm":
        adv = attacks.fgsm(trained_baseline, x, y, eps)
    elif name == "pgd_l2":
        adv = attacks.pgd(trained_baseline, x, y, eps, steps=10, norm="l2")
    else:
        adv = attacks.pgd(trained_baseline, x, y, eps, steps=10, loss="cw" if name == "cw" else "ce")
    assert adv.min() >= 0 and adv.max() <= 1
    delta = (adv - x).flatten(1)
    if name == "pgd_l2":
        assert delta.norm(dim=1).max() <= eps + 1e-4
    else:
        assert delta.abs().max() <= eps + 1e-6
    assert _accuracy(trained_baseline, adv, y) < _accuracy(trained_baseline, x, y) - 0.3


def test_pgd_at_least_as_strong_as_fgsm(trained_baseline, batch):
    x, y = batch
    eps = 20 / 255
    acc_fgsm = _accuracy(trained_baseline, attacks.fgsm(trained_baseline, x, y, eps), y)
    acc_pgd = _accuracy(trained_baseline, attacks.pgd(trained_baseline, x, y, eps, steps=20), y)
    assert acc_pgd <= acc_fgsm


def test_pgd_eps_zero_changes_nothing(trained_baseline, batch):
    x, y = batch
    assert torch.equal(attacks.pgd(trained_baseline, x, y, 0.0, steps=5), x)


def test_attack_leaves_model_state_alone(trained_baseline, batch):
    x, y = batch
    trained_baseline.train()
    before = {k: v.clone() for k, v in trained_baseline.state_dict().items()}
    attacks.pgd(trained_baseline, x, y, EPS, steps=3)
    assert trained_baseline.training
    assert all(torch.equal(before[k], v) for k, v in trained_baseline.state_dict().items())
    assert all(p.grad is None for p in trained_baseline.parameters())
    trained_baseline.eval()


def test_eps_out_of_range_is_rejected(trained_baseline, batch):
    x, y = batch
    with pytest.raises(ValueError, match="out of range"):
        attacks.pgd(trained_baseline, x, y, -0.1)
    with pytest.raises(ValueError, match="out of range"):
        AttackSpec("fgsm", eps=2.0)
    with pytest.raises(ValueError, match="Unknown attack"):
        AttackSpec("deepfool", eps=0.1)
    with pytest.raises(ValueError, match="out of range"):
        AttackSpec("pgd", eps=torch.tensor([0.1, 1.5]), steps=5)
    with pytest.raises(ValueError, match="one budget per image"):
        AttackSpec("autoattack", eps=torch.tensor([0.1, 0.2]))


def test_spec_with_per_image_eps_crafts_in_batches_and_scores_a_row(trained_baseline, mnist_small):
    _, test = mnist_small
    data = test.subset(30)
    eps = torch.linspace(0, 0.3, 30)
    spec = AttackSpec("pgd", eps, steps=5, random_start=False)
    assert spec.per_image and spec.label == "PGD-5 (per-image eps)"
    one = craft(trained_baseline, spec, data.images, data.labels)
    assert ((one - data.images).flatten(1).abs().amax(1) <= eps + 1e-6).all()
    table = robust_accuracy(trained_baseline, data, [spec], batch_size=7)  # eps sliced with each batch of 7
    assert table["attack"].iloc[0] == "PGD-5 (per-image eps)" and math.isnan(table["eps_255"].iloc[0])
    again = torch.cat([craft(trained_baseline, spec.batch(i, i + 7), data.images[i:i + 7], data.labels[i:i + 7])
                       for i in range(0, 30, 7)])
    assert torch.allclose(one, again, atol=1e-5)
    assert torch.equal(craft(trained_baseline, AttackSpec("fgsm", torch.zeros(30)), data.images, data.labels),
                       data.images)


def _sweep():
    """Two curves on an eps grid 0, 8, 16, 24 /255: `vib` crosses 50% at 16, `causalib` at 24 and rises once."""
    rows = []
    for method, accs in (("vib", [90, 60, 40, 5]), ("causalib", [95, 70, 72, 30])):
        for e, a in zip((0, 8, 16, 24), accs):
            rows.append({"panel": "FGSM", "curve": method.upper(), "method": method, "mode": "mean",
                         "eps": e / 255, "eps_255": float(e), "accuracy": float(a), "n": 100})
    return pd.DataFrame(rows)


def test_crossing_table_and_sentences():
    sweep = _sweep()
    cross = crossing_table(sweep, {"vib": 16, "causalib": 40})
    assert list(cross["ours_255"]) == [16, 24]
    assert list(cross["bracket (/255)"]) == ["(8, 16]", "(16, 24]"]
    assert list(cross["diff_255"]) == [0, -16]
    never = crossing_table(sweep.assign(accuracy=sweep["accuracy"] + 100), {})
    assert list(never["ours_255"]) == ["never", "never"] and list(never["bracket (/255)"]) == ["", ""]
    lines = crossing_sentences(sweep, cross, {"vib": 16}, {"vib": "VIB", "causalib": "CausalIB"})
    assert lines[0] == ("FGSM (mean mode, n=100): CausalIB drops below 50% at 24/255, VIB at 16/255: "
                        "CausalIB crosses later than VIB.")
    assert lines[1] == "  paper, FGSM: VIB at 16/255; ours (mean mode) 16/255"


def test_sweep_checks_chance_and_monotone():
    checks = sweep_checks(_sweep(), chance=10.0, tolerance=2.0)
    assert list(checks["passed"]) == [True, False]
    assert list(checks["monotone"]) == [True, False] and checks["largest rise"].iloc[1] == "+2.0 at 16/255"
    report = sweep_checks_report(checks, 10.0, 2.0)
    assert report.startswith("Sanity check 4 at eps = 24/255 (n=100): 1 of 2 curves") and "-> FAIL" in report
    assert "FAIL: FGSM / CAUSALIB: 30.00% at 24/255" in report and "not monotone: FGSM / CAUSALIB" in report


def test_eot_attacks_the_sampled_prediction(batch):
    torch.manual_seed(0)
    x, y = batch
    model = model_for(TrainConfig("vib"))
    model.predict_mode = "sample"
    adv = attacks.pgd(model, x[:20], y[:20], EPS, steps=2, eot=4)
    assert adv.shape == x[:20].shape and (adv - x[:20]).abs().max() <= EPS + 1e-6


def test_our_pgd_close_to_pyautoattack_apgd(trained_baseline, batch):
    from pyautoattack.autopgd_base import APGDAttack

    x, y = batch
    eps = 25 / 255
    ours = _accuracy(trained_baseline, attacks.pgd(trained_baseline, x, y, eps, steps=20), y)
    apgd = APGDAttack(trained_baseline, n_iter=20, eps=eps, norm="Linf", seed=0, device="cpu")
    theirs = _accuracy(trained_baseline, apgd.perturb(x, y), y)
    assert theirs <= ours + 0.02          # APGD at least as strong (2 points of slack)
    assert abs(ours - theirs) <= 0.08     # and ours within a few points of it


def test_robust_accuracy_table_columns(trained_baseline, mnist_small):
    _, test = mnist_small
    table = robust_accuracy(trained_baseline, test.subset(100), [AttackSpec("clean"), AttackSpec("fgsm", EPS)], method="baseline")
    assert list(table["attack"]) == ["clean", "FGSM"]
    assert {"method", "dataset", "eps", "steps", "mode", "accuracy", "n"} <= set(table.columns)
    assert table["mode"].iloc[0] == "deterministic" and table["n"].iloc[0] == 100
    assert table["accuracy"].iloc[1] < table["accuracy"].iloc[0]
    per_image = robust_accuracy(trained_baseline, test.subset(100), [AttackSpec("clean")], per_example=True)
    assert per_image["correct"].iloc[0].shape == (100,)
    assert per_image["correct"].iloc[0].mean() * 100 == pytest.approx(table["accuracy"].iloc[0])


def test_autoattack_wrapper_runs_and_stays_in_the_ball(trained_baseline, batch):
    x, y = batch
    eps = 25 / 255
    adv = attacks.autoattack(trained_baseline, x[:16], y[:16], eps, version="standard", batch_size=16)
    assert adv.shape == x[:16].shape
    assert (adv - x[:16]).abs().max() <= eps + 1e-5 and adv.min() >= 0 and adv.max() <= 1
    assert _accuracy(trained_baseline, adv, y[:16]) <= _accuracy(trained_baseline, x[:16], y[:16])


def test_dlr_loss_is_a_margin_that_scaling_or_shifting_the_logits_leaves_unchanged():
    from cibtools.attacks import dlr_loss

    z = torch.tensor([[3.0, 1.0, 0.5, -1.0], [0.0, 2.0, 1.0, 0.0]])
    y = torch.tensor([0, 0])
    expected = torch.tensor([-(3.0 - 1.0) / (3.0 - 0.5), -(0.0 - 2.0) / (2.0 - 0.0)])  # right < 0, wrong > 0
    assert torch.allclose(dlr_loss(z, y), expected)
    assert torch.allclose(dlr_loss(10 * z + 3, y), expected, atol=1e-6)
