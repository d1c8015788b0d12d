import pytest
import torch

from cibtools import attacks
from cibtools.evaluate import AttackSpec, predict, robust_accuracy
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
