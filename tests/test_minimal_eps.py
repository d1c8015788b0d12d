"""cibtools.minimal_eps: per-image eps attacks (through evaluate.craft), the minimal-eps search and its summaries."""
import math

import pytest
import torch
from torch import nn

from cibtools import attacks
from cibtools.evaluate import predict
from cibtools.minimal_eps import (MinimalEps, fooled_within, minimal_eps, minimal_eps_summary, paired_comparison,
                                  paired_sentence, per_example_attack, pixel_correlation, sign_test)
from cibtools.models import Classifier, LinearHead

RES = 2 / 255


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, test = mnist_small
    return test.images[:120], test.labels[:120]


@pytest.fixture(scope="module")
def search(trained_baseline, batch):
    """A deterministic search (no random start) on 120 MNIST images with PGD-10 on a 2/255 grid."""
    x, y = batch
    return minimal_eps(trained_baseline, x, y, kind="pgd", steps=10, resolution=RES, random_start=False)


def constant_model() -> Classifier:
    """A `Classifier` that predicts class 3 whatever the input (zero weights, so a zero input gradient):
    no attack can flip it."""
    head = LinearHead(784, 10)
    with torch.no_grad():
        head.decoder.weight.zero_()
        head.decoder.bias.zero_()
        head.decoder.bias[3] = 5.0
    return Classifier(nn.Flatten(), head, input_shape=(1, 28, 28))


@pytest.mark.parametrize("kind", ["fgsm", "pgd"])
def test_per_image_eps_equals_each_image_attacked_with_its_own_float_eps(trained_baseline, batch, kind):
    x, y = batch
    x, y = x[:20], y[:20]
    eps = torch.tensor([20 / 255, 40 / 255] * 10)
    ours = per_example_attack(trained_baseline, x, y, eps, kind=kind, steps=5, random_start=False)
    for value in (20 / 255, 40 / 255):
        rows = torch.isclose(eps, torch.tensor(value))
        ref = (attacks.fgsm(trained_baseline, x[rows], y[rows], value) if kind == "fgsm"
               else attacks.pgd(trained_baseline, x[rows], y[rows], value, steps=5, random_start=False))
        assert torch.allclose(ours[rows], ref, atol=1e-5)


def test_per_example_eps_stays_in_each_ball(trained_baseline, batch):
    x, y = batch
    eps = torch.linspace(0, 0.3, len(y))
    adv = per_example_attack(trained_baseline, x, y, eps, kind="pgd", steps=5)
    assert adv.min() >= 0 and adv.max() <= 1
    assert ((adv - x).flatten(1).abs().amax(1) <= eps + 1e-6).all()
    assert torch.equal(adv[0], x[0])  # eps 0 leaves the image alone
    with pytest.raises(ValueError, match="entries"):
        per_example_attack(trained_baseline, x, y, eps[:3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        per_example_attack(trained_baseline, x, y, 1.5)


def test_found_eps_flips_and_one_grid_step_less_does_not(trained_baseline, batch, search):
    x, y = batch
    found = torch.isfinite(search.eps) & search.clean_correct
    assert found.sum() > 0.8 * search.clean_correct.sum()  # a plain MLP falls well before eps = 1
    idx = found.nonzero().squeeze(1)
    eps = search.eps[idx].float()
    adv = search.adversarial[idx]
    # the stored example is inside its eps ball and fools the model
    assert ((adv - x[idx]).flatten(1).abs().amax(1) <= eps + 1e-6).all()
    assert (predict(trained_baseline, adv) != y[idx]).all()
    # the bracket is one grid step wide, and the deterministic attack one step below does not flip
    assert torch.allclose(search.lower[idx], search.eps[idx] - RES, atol=1e-9)
    again = per_example_attack(trained_baseline, x[idx], y[idx], search.lower[idx].float(), kind="pgd", steps=10,
                               random_start=False)
    still_correct = predict(trained_baseline, again) == y[idx]
    assert still_correct.float().mean() >= 0.98  # float noise across batch shapes may move a rare borderline image


def test_misclassified_images_get_zero_and_bookkeeping_is_monotone(trained_baseline, batch, search):
    x, y = batch
    wrong = predict(trained_baseline, x) != y
    assert torch.equal(search.clean_correct, ~wrong)
    assert (search.eps[wrong] == 0).all() and torch.equal(search.adversarial[wrong], x[wrong])
    assert (search.eps[~wrong] > 0).all()
    for trial in search.trials:
        i, e, f = trial["index"], trial["eps"], trial["flipped"]
        assert search.clean_correct[i].all()  # misclassified images are never attacked
        assert (e[f] >= search.eps[i][f] - 1e-12).all()  # every eps that flipped is >= the minimum found
        assert (e[~f] <= search.lower[i][~f] + 1e-12).all()  # every eps that failed is <= the lower bound
    assert len(search.trials) <= math.ceil(math.log2(round(1 / RES))) + 1
    frame = search.frame("baseline")
    assert len(frame) == len(y) and set(frame["status"]) <= {"misclassified", "flipped", "not flipped"}


def test_unflippable_model_gets_inf(batch):
    x, y = batch
    y = torch.full_like(y[:10], 3)
    r = minimal_eps(constant_model(), x[:10], y, kind="fgsm", resolution=0.25)
    assert torch.isinf(r.eps).all() and torch.allclose(r.lower, torch.ones(10, dtype=torch.float64))
    assert r.status == ["not flipped"] * 10
    assert minimal_eps_summary({"const": r})["not flipped"].iloc[0] == 10
    assert fooled_within(r, 1.0) == 0.0


def _fake(eps, correct):
    eps = torch.tensor(eps, dtype=torch.float64)
    n = len(eps)
    return MinimalEps(eps=eps, lower=eps.clamp(max=1) - 1 / 255, adversarial=torch.zeros(n, 1, 2, 2),
                      clean_correct=torch.tensor(correct), labels=torch.zeros(n, dtype=torch.long),
                      resolution=1 / 255, max_eps=1.0, kind="pgd", steps=20, mode="mean")


def test_summary_and_paired_comparison():
    inf = float("inf")
    a = _fake([0.0, 10 / 255, 20 / 255, 30 / 255, inf], [False, True, True, True, True])
    b = _fake([5 / 255, 10 / 255, 10 / 255, 40 / 255, 50 / 255], [True, True, True, True, True])
    summ = minimal_eps_summary({"a": a}).iloc[0]
    assert summ["misclassified"] == 1 and summ["not flipped"] == 1 and summ["median"] == pytest.approx(20)
    pair = paired_comparison(a, b, "a", "b").iloc[0]
    assert pair["images (both correct)"] == 4
    assert (pair["first"], pair["second"]) == ("a", "b")
    assert (pair["first larger"], pair["first smaller"], pair["same"]) == (2, 1, 1)
    assert pair["fraction first larger"] == pytest.approx(0.5)
    assert pair["median difference (/255)"] == pytest.approx(0.0)  # diffs 0, +10, -10 over finite pairs
    assert sign_test(10, 0) == pytest.approx(2 / 1024) and sign_test(3, 3) == 1.0
    assert "needs a larger eps* on 50%" in paired_sentence(pair, n=5)
    assert fooled_within(a, 10 / 255) == pytest.approx(40.0)  # eps 0 and 10/255 of five images


def test_pixel_correlation():
    x = torch.rand(4, 1, 5, 5)
    assert torch.allclose(pixel_correlation(x, x), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(pixel_correlation(x, 1 - x), -torch.ones(4, dtype=torch.float64))
