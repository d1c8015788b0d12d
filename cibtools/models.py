"""Models: the MLP and AlexNet encoders, the deterministic and stochastic (VIB) heads, input samplers.

Every model returns logits. A model with a random forward pass (the VIB bottleneck, randomized
smoothing's input noise, CiiV's retinotopic masks) has two prediction modes:
`mean` (deterministic: decode mu / the clean input) and `sample` (the softmax averaged over
`predict_samples` random passes; its log is returned as logits, Alemi et al. use 12 samples).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

PREDICT_MODES = ("mean", "sample")


class GaussianBottleneck(nn.Module):
    """VIB head (Sec. 3.1, Eq. 4): p(z|x) = N(mu, diag(sigma^2)) with sigma = softplus(raw - 5), decoder q(y|z)."""

    def __init__(self, in_features: int, k: int = 256, n_classes: int = 10) -> None:
        super().__init__()
        self.k = k
        self.stats_layer = nn.Linear(in_features, 2 * k)
        self.decoder = nn.Linear(k, n_classes)

    def stats(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of the Gaussian code, each (B, K)."""
        mu, raw = self.stats_layer(h).chunk(2, dim=-1)
        return mu, F.softplus(raw - 5.0)

    @staticmethod
    def sample(mu: torch.Tensor, sigma: torch.Tensor, n: int) -> torch.Tensor:
        """n reparameterised draws z = mu + sigma * eps (Eq. 23), shaped (n, B, K), in one batched call."""
        eps = torch.randn((n, *mu.shape), device=mu.device, dtype=mu.dtype)
        return mu + sigma * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class LinearHead(nn.Module):
    """Deterministic classifier head of the baseline: Linear(features, classes)."""

    def __init__(self, in_features: int, n_classes: int = 10) -> None:
        super().__init__()
        self.decoder = nn.Linear(in_features, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h)


def mlp_encoder(in_features: int = 784, width: int = 1024) -> nn.Sequential:
    """Alemi et al.'s VIB MLP trunk: 784-1024-1024 with ReLU ("a simple three-layer MLP", Sec. 4.1.2)."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(in_features, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU()
    )


def alexnet32_encoder(width: int = 1024) -> nn.Sequential:
    """AlexNet adapted to 32x32 inputs (3x3 convolutions, three 2x2 poolings), ending in a `width` feature."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256 * 4 * 4, width), nn.ReLU(inplace=True),
        nn.Linear(width, width), nn.ReLU(inplace=True),
    )


class GaussianNoise(nn.Module):
    """Randomized smoothing's input sampler (Cohen et al. 2019): x + N(0, sigma^2), not clipped."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        noisy = x.unsqueeze(0) + self.sigma * torch.randn((n, *x.shape), device=x.device, dtype=x.dtype)
        return noisy, torch.full((n, x.shape[0]), self.sigma, device=x.device, dtype=x.dtype)


class Classifier(nn.Module):
    """Encoder + head, returning logits; see the module docstring for the prediction modes."""

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module,
        input_shape: tuple[int, ...],
        input_sampler: nn.Module | None = None,
        predict_mode: str = "mean",
        predict_samples: int = 12,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.input_shape = tuple(input_shape)
        self.input_sampler = input_sampler
        self.predict_samples = predict_samples
        self.predict_mode = predict_mode

    @property
    def predict_mode(self) -> str:
        return self._predict_mode

    @predict_mode.setter
    def predict_mode(self, mode: str) -> None:
        if mode not in PREDICT_MODES:
            raise ValueError(f"Unknown prediction mode {mode!r}. Valid modes: {', '.join(PREDICT_MODES)}.")
        self._predict_mode = mode

    @property
    def stochastic(self) -> bool:
        """True when the `sample` prediction mode is random (bottleneck or input sampler)."""
        return isinstance(self.head, GaussianBottleneck) or self.input_sampler is not None

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 1 + len(self.input_shape) or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"Expected a batch of inputs shaped (B, {', '.join(map(str, self.input_shape))}), got "
                f"{tuple(x.shape)}. Images must be float tensors in [0, 1] with a channel dimension."
            )

    def logits_deterministic(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the deterministic path: the baseline head, or the VIB decoder at mu."""
        h = self.encoder(x)
        if isinstance(self.head, GaussianBottleneck):
            mu, _ = self.head.stats(h)
            return self.head.decode(mu)
        return self.head(h)

    def sample_logits(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """Logits of n random forward passes, (n, B, C): bottleneck draws and/or input samples."""
        if self.input_sampler is not None:
            xs, _ = self.input_sampler(x, n)
            flat = xs.reshape(-1, *x.shape[1:])
            h = self.encoder(flat)
            if isinstance(self.head, GaussianBottleneck):
                mu, sigma = self.head.stats(h)
                out = self.head.decode(self.head.sample(mu, sigma, 1)[0])
            else:
                out = self.head(h)
            return out.reshape(n, x.shape[0], -1)
        h = self.encoder(x)
        if isinstance(self.head, GaussianBottleneck):
            mu, sigma = self.head.stats(h)
            return self.head.decode(self.head.sample(mu, sigma, n))
        return self.head(h).unsqueeze(0).expand(n, -1, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.predict_mode == "mean" or not self.stochastic:
            return self.logits_deterministic(x)
        return average_softmax_logits(self.sample_logits(x, self.predict_samples))


def average_softmax_logits(logits: torch.Tensor) -> torch.Tensor:
    """log of the softmax averaged over the leading sample axis: (n, B, C) -> (B, C), stably."""
    return torch.logsumexp(F.log_softmax(logits, dim=-1), dim=0) - math.log(logits.shape[0])


def build_model(
    arch: str,
    head: str,
    k: int = 256,
    n_classes: int = 10,
    input_sampler: nn.Module | None = None,
    predict_mode: str = "mean",
    predict_samples: int = 12,
) -> Classifier:
    """A `Classifier` for `arch` in {mlp, alexnet} with a `linear` or `vib` head."""
    builders: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
        "mlp": (lambda: mlp_encoder(784, 1024), (1, 28, 28)),
        "alexnet": (lambda: alexnet32_encoder(1024), (3, 32, 32)),
    }
    if arch not in builders:
        raise ValueError(f"Unknown architecture {arch!r}. Valid: {', '.join(builders)}.")
    make_encoder, shape = builders[arch]
    if head == "linear":
        head_module: nn.Module = LinearHead(1024, n_classes)
    elif head == "vib":
        head_module = GaussianBottleneck(1024, k, n_classes)
    else:
        raise ValueError(f"Unknown head {head!r}. Valid: linear, vib.")
    return Classifier(make_encoder(), head_module, shape, input_sampler, predict_mode, predict_samples)


class RetinotopicMask(nn.Module):
    """CiiV's instrument at the input layer (Tang et al. 2021), adapted to MNIST-sized images.

    Each of the n draws picks a random fixation centre; pixel (u, v) is kept with probability
    exp(-dist * d^2), d being its distance to the centre in pixels divided by the image side,
    times a side factor so that the mean keep-rate is about one half; kept images get Gaussian
    noise of std `std`. The intensity r_i of the instrument is the fraction of pixels kept.
    """

    def __init__(self, dist: float = 0.1, std: float = 0.1) -> None:
        super().__init__()
        self.dist = dist
        self.std = std

    def forward(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        centres = torch.rand((n, b, 2, 1, 1), device=x.device, dtype=x.dtype)
        rows = torch.linspace(0, 1, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1)
        cols = torch.linspace(0, 1, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w)
        d2 = (rows - centres[:, :, 0]) ** 2 + (cols - centres[:, :, 1]) ** 2  # (n, B, H, W)
        keep_prob = torch.exp(-d2 / (2 * (self.dist * 10) ** 2 / 10))
        mask = (torch.rand_like(keep_prob) < keep_prob).to(x.dtype).unsqueeze(2)  # (n, B, 1, H, W)
        noisy = x.unsqueeze(0) * mask + self.std * torch.randn((n, *x.shape), device=x.device, dtype=x.dtype)
        return noisy.clamp(0.0, 1.0), mask.flatten(2).mean(-1)
