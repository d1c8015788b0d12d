"""cibtools.visual: captions, the image grids and the widget's drawing."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from cibtools.evaluate import predict  # noqa: E402
from cibtools.minimal_eps import per_example_attack  # noqa: E402
from cibtools.visual import (AdversarialBrowser, adversarial_grid, captions, clean_captions,  # noqa: E402
                             comparison_grid, predict_with_confidence)


@pytest.fixture(scope="module")
def batch(mnist_small):
    _, test = mnist_small
    return test.images[:120], test.labels[:120]


def test_grid_has_one_axis_per_image_plus_colour_bars(trained_baseline, batch):
    x, y = batch
    x, y = x[:6], y[:6]
    adv = per_example_attack(trained_baseline, x, y, 50 / 255, kind="fgsm")
    caps = captions(trained_baseline, adv, [f"c{i}" for i in range(10)], y=y)
    assert len(caps) == 6 and all(c.startswith("c") for c in caps)
    rows = [{"label": "clean", "images": x}, {"label": "adv A", "images": adv, "captions": caps},
            {"label": "adv B", "images": adv}, {"label": "δ A", "images": adv - x, "signed": True},
            {"label": "δ B", "images": adv - x, "signed": True}]
    fig = adversarial_grid(rows, col_titles=[str(int(v)) for v in y], title="t")
    assert len(fig.axes) == 5 * 6 + 2
    assert fig.axes[6].get_xlabel() == caps[0]
    with pytest.raises(ValueError, match="same number"):
        adversarial_grid([{"images": x}, {"images": x[:3]}])
    pred, conf = predict_with_confidence(trained_baseline, x)
    assert torch.equal(pred, predict(trained_baseline, x)) and ((conf > 0) & (conf <= 1)).all()
    matplotlib.pyplot.close("all")


def test_clean_captions_and_comparison_grid(trained_baseline, batch):
    x, y = batch
    x, y = x[:4], y[:4]
    names = [f"c{i}" for i in range(10)]
    caps = clean_captions({"a": trained_baseline, "b": trained_baseline}, x, names, y, short={"a": "A"})
    assert len(caps) == 4 and all(c.startswith("A: c") and "\nb: c" in c for c in caps)
    adv = {"a": per_example_attack(trained_baseline, x, y, 50 / 255, kind="fgsm")}
    fig = comparison_grid(x, y, adv, {"a": captions(trained_baseline, adv["a"], names, y=y)}, caps, "FGSM",
                          {"a": "Model A"}, names, title="t", vmax=50 / 255)
    assert len(fig.axes) == 3 * 4 + 1  # clean, adversarial, perturbation rows; one colour bar
    assert fig.axes[0].get_ylabel() == "clean" and fig.axes[4].get_ylabel() == "FGSM vs\nModel A"
    matplotlib.pyplot.close("all")


def test_browser_precomputes_every_budget_and_draws_headless(trained_baseline, batch, monkeypatch):
    x, y = batch
    browser = AdversarialBrowser({"a": trained_baseline}, x[:3], y[:3], [str(i) for i in range(10)], {"a": "A"},
                                 eps_255=[10, 50], n_show=2)
    assert set(browser.store) == {("a", k, e) for k in ("fgsm", "pgd") for e in (10, 50)}
    adv = browser.store["a", "pgd", 10][0]
    assert ((adv - x[:3]).abs().amax() <= 10 / 255 + 1e-6)
    shown = []
    monkeypatch.setattr(matplotlib.pyplot, "show", lambda: shown.append(len(matplotlib.pyplot.gcf().axes)))
    browser.show(None, eps_255=50)  # headless: one static view
    assert shown == [3 * 2 + 1]
    matplotlib.pyplot.close("all")
