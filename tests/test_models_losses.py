import math

import pytest
import torch
from torch import nn

from cibtools import losses
from cibtools.config import TrainConfig
from cibtools.models import GaussianBottleneck, RetinotopicMask, average_softmax_logits, build_model
from cibtools.train import model_for


@pytest.mark.parametrize("arch,shape", [("mlp", (1, 28, 28)), ("alexnet", (3, 32, 32))])
@pytest.mark.parametrize("head", ["linear", "vib"])
def test_logits_shape_and_modes(arch, shape, head):
    model = build_model(arch, head, k=16).eval()
    x = torch.rand(3, *shape)
    for mode in ("mean", "sample"):
        model.predict_mode = mode
        out = model(x)
        assert out.shape == (3, 10) and out.dtype == torch.float32
    model.predict_mode = "mean"
    assert torch.equal(model(x), model(x))  # mean mode is deterministic


def test_sample_mode_is_log_of_mean_softmax():
    torch.manual_seed(0)
    logits = torch.randn(12, 5, 10)
    expected = logits.softmax(-1).mean(0).log()
    assert torch.allclose(average_softmax_logits(logits), expected, atol=1e-6)


def test_wrong_input_shape_is_explained():
    model = build_model("mlp", "vib")
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.rand(4, 784))
    with pytest.raises(ValueError, match="prediction mode"):
        model.predict_mode = "median"


def test_sigma_is_softplus_minus_five():
    head = GaussianBottleneck(4, k=3)
    nn.init.zeros_(head.stats_layer.weight)
    nn.init.zeros_(head.stats_layer.bias)
    _, sigma = head.stats(torch.zeros(1, 4))
    assert torch.allclose(sigma, torch.full((1, 3), math.log1p(math.exp(-5.0))))


def test_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mu, sigma = torch.randn(4, 8), torch.rand(4, 8) + 0.3
    closed = losses.kl_to_standard_normal(mu, sigma)
    mc = losses.kl_monte_carlo(mu, sigma, 200_000)
    assert torch.allclose(closed, mc, rtol=0.02, atol=0.02)
    assert torch.allclose(losses.kl_to_standard_normal(torch.zeros(2, 5), torch.ones(2, 5)), torch.zeros(2))


def test_vib_loss_combines_ce_and_kl():
    torch.manual_seed(0)
    logits, y = torch.randn(3, 6, 10), torch.randint(0, 10, (6,))
    mu, sigma = torch.randn(6, 4), torch.rand(6, 4) + 0.1
    total, ce, kl = losses.vib_loss(logits, y, mu, sigma, alpha=0.5)
    assert torch.isclose(total, ce + 0.5 * kl)
    manual = sum(nn.functional.cross_entropy(logits[s], y) for s in range(3)) / 3
    assert torch.isclose(ce, manual, atol=1e-6)


def _mu_sigma(b=8, k=16):
    torch.manual_seed(1)
    return torch.randn(b, k, requires_grad=True), (torch.rand(b, k) + 0.5).requires_grad_(True)


def test_causal_loss_zero_for_linear_decoder_with_scalar_instrument():
    mu, sigma = _mu_sigma()
    linear = nn.Linear(16, 10).double()
    cfg = losses.CausalConfig(response="logits", instrument="scaled", n_draws=6)
    assert losses.causal_loss(linear, mu.double(), sigma.double(), cfg).item() < 1e-9
    # the reparameterisation noise as instrument is not a scalar instrument: w_i varies with direction
    reparam = losses.CausalConfig(response="logits", instrument="reparam", n_draws=6)
    assert losses.causal_loss(linear, mu.double(), sigma.double(), reparam).item() > 1e-3


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_causal_loss_positive_for_nonlinear_response_and_gradient_flows(norm):
    mu, sigma = _mu_sigma()
    nonlinear = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 10))
    value = losses.causal_loss(nonlinear, mu, sigma, losses.CausalConfig(response="logits", norm=norm))
    assert value.item() > 1e-3
    value.backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in nonlinear.parameters())
    # the softmax response is non-linear even for a linear decoder
    mu2, sigma2 = _mu_sigma()
    assert losses.causal_loss(nn.Linear(16, 10), mu2, sigma2, losses.CausalConfig(response="probs")).item() > 0


def test_pairwise_spread_matches_explicit_sum():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 5)
    explicit = sum((w[i] - w[j]).abs().sum(-1) for i in range(4) for j in range(4) if i != j).mean()
    assert torch.isclose(losses.pairwise_spread(w, "l1", "sum"), explicit, atol=1e-5)
    assert torch.isclose(losses.pairwise_spread(w, "l1", "mean"), explicit / 12, atol=1e-6)


def test_cross_multiplied_iv_zero_when_response_proportional_to_intensity():
    torch.manual_seed(0)
    r = torch.rand(5, 4) + 0.1
    base = torch.randn(4, 7)
    assert losses.cross_multiplied_iv(r.unsqueeze(-1) * base, r).item() < 1e-5
    assert losses.cross_multiplied_iv(r.unsqueeze(-1) ** 2 * base, r).item() > 1e-3


def test_authors_variant_runs_and_has_gradient():
    mu, sigma = _mu_sigma()
    value = losses.causal_loss(nn.Linear(16, 10), mu, sigma, losses.CausalConfig(variant="authors", n_draws=12))
    value.backward()
    assert value.item() > 0 and mu.grad.abs().sum() > 0


def test_causal_config_rejects_bad_choices():
    with pytest.raises(ValueError, match="norm"):
        losses.CausalConfig(norm="l3")
    with pytest.raises(ValueError, match="n_draws"):
        losses.CausalConfig(n_draws=1)


def test_retinotopic_mask_shapes_and_intensity():
    torch.manual_seed(0)
    x = torch.rand(5, 1, 28, 28)
    sampler = RetinotopicMask()
    xs, r = sampler(x, 9)
    assert xs.shape == (9, 5, 1, 28, 28) and r.shape == (9, 5)
    assert 0 <= xs.min() and xs.max() <= 1 and (0 < r).all() and (r < 1).all()
    masks = sampler.masks(9, 28, 28, x.device, x.dtype)
    # the fixation of loop 4 is the image centre: always kept; far corners are dropped more often
    assert masks[4, :, 14, 14].min() == 1
    assert masks[0].mean() > masks[0, :, 20:, 20:].mean()


def test_ciiv_prediction_divides_logits_by_intensity():
    logits = torch.tensor([[[2.0, 0.0]], [[0.0, 1.0]]])
    r = torch.tensor([[0.5], [0.25]])
    assert torch.allclose(RetinotopicMask.combine(logits, r), torch.tensor([[2.0, 2.0]]))


@pytest.mark.parametrize("method", ["rs", "ciiv", "vib", "causalib", "baseline"])
def test_default_prediction_modes(method):
    model = model_for(TrainConfig(method))
    assert model.stochastic == (method != "baseline")
    assert model.predict_mode == ("sample" if method in ("rs", "ciiv") else "mean")
