"""Models: the MLP and AlexNet encoders, the deterministic and stochastic (VIB) heads, input samplers.

Every model returns logits. A model with a random forward pass (the VIB bottleneck, randomized
smoothing's input noise, CiiV's retinotopic masks) has two prediction modes:
`mean` (deterministic: decode mu / the clean input) and `sample` (the softmax averaged over
`predict_samples` random passes; its log is returned as logits, Alemi et al. use 12 samples).
The model owns its prediction setting: `with model.prediction("sample", 12): ...` sets it for a block,
`model.is_random` says whether the current prediction needs EOT, `model.prediction_label` names it in
result rows, and `eval_mode(model)` runs any module in eval mode for a block.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

PREDICT_MODES = ("mean", "sample")
HEADS = ("linear", "vib", "authors")  # `authors` takes its parts from `AUTHORS_BOTTLENECKS`


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run `model` in eval mode and restore its previous (train/eval) mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


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

    @staticmethod
    def combine_samples(logits: torch.Tensor) -> torch.Tensor:
        """The sampled prediction: log of the softmax averaged over draws, (n, B, C) -> (B, C)."""
        return average_softmax_logits(logits)


@dataclass(frozen=True)
class AuthorsParts:
    """The three architectural parts in which the authors' bottleneck differs from Alemi et al.'s (the
    fourth difference, 12 training draws, is `TrainConfig.train_samples`): inputs rescaled to [-1, 1],
    mean and std heads of two layers each, and a raw (unsquashed) std."""
    signed_input: bool = True
    deep_heads: bool = True
    raw_sigma: bool = True


# `TrainConfig.bottleneck` names of the authors' bottleneck and of its ablations (each drops one part).
AUTHORS_BOTTLENECKS = {
    "authors": AuthorsParts(),
    "authors_unit_input": AuthorsParts(signed_input=False),
    "authors_linear_heads": AuthorsParts(deep_heads=False),
    "authors_softplus_sigma": AuthorsParts(raw_sigma=False),
}


class AuthorsBottleneck(GaussianBottleneck):
    """The bottleneck of the public code that appears to be the authors' (HydrogenWasser/CausalIB).

    Mean and std heads are each Linear(in, 512) -> ReLU -> Linear(512, K); the std head's output is
    used as it is (no softplus, so it may be negative: z = mu + sigma * eps has the same law as with
    |sigma|). Their forward pass returns softmax(mean over the draws of the logits): `combine_samples`
    returns its log, so that this model too returns logits (the probabilities are its softmax).
    For the ablations, `deep_heads=False` makes each head one Linear(in, K), and `raw_sigma=False`
    squashes the std as Alemi et al. do, softplus(raw - 5).
    """

    def __init__(self, in_features: int, k: int = 256, n_classes: int = 10, width: int = 512,
                 deep_heads: bool = True, raw_sigma: bool = True) -> None:
        nn.Module.__init__(self)
        self.k, self.raw_sigma = k, raw_sigma

        def head() -> nn.Module:
            if not deep_heads:
                return nn.Linear(in_features, k)
            return nn.Sequential(nn.Linear(in_features, width), nn.ReLU(), nn.Linear(width, k))

        self.mean_head, self.std_head = head(), head()
        self.decoder = nn.Linear(k, n_classes)

    def stats(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation, each (B, K): raw (possibly negative), or softplus(raw - 5)."""
        raw = self.std_head(h)
        return self.mean_head(h), raw if self.raw_sigma else F.softplus(raw - 5.0)

    @staticmethod
    def combine_samples(logits: torch.Tensor) -> torch.Tensor:
        """log softmax(mean over draws of the logits), (n, B, C) -> (B, C), as the authors predict."""
        return F.log_softmax(logits.mean(0), dim=-1)


# Affine maps of the [0, 1] image, (scale, shift), applied as a model's first operation: `signed` is the authors'
# x * 2 - 1, into [-1, 1]; `doubled` (x * 2, into [0, 2]) and `shifted` (x - 1, into [-1, 0]) each keep one half of it.
INPUT_MAPS = {"signed": (2.0, -1.0), "doubled": (2.0, 0.0), "shifted": (1.0, -1.0)}


class InputMap(nn.Module):
    """x * scale + shift for one of `INPUT_MAPS` (no parameters: the attack still perturbs the [0, 1] image)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        if name not in INPUT_MAPS:
            raise ValueError(f"Unknown input map {name!r}. Valid: {', '.join(INPUT_MAPS)}.")
        self.name = name
        self.scale, self.shift = INPUT_MAPS[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def extra_repr(self) -> str:
        return f"{self.name}: x * {self.scale:g} + {self.shift:g}"


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


def authors_mlp_encoder(in_features: int = 784, width: int = 1024, out: int = 256) -> nn.Sequential:
    """The trunk of the authors' baseline MLP: 784-1024-1024-256 with ReLU (their `MLP.py`, whose last
    Linear(256, 10) is the head here)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, out), nn.ReLU())


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

    @staticmethod
    def combine(logits: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """The smoothed classifier: log of the softmax averaged over the noisy copies."""
        return average_softmax_logits(logits)


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
    def n_classes(self) -> int:
        return self.head.decoder.out_features

    @property
    def input_map(self) -> str | None:
        """The name of the input map (`INPUT_MAPS`) the encoder applies first, or None."""
        first = self.encoder[0] if isinstance(self.encoder, nn.Sequential) and len(self.encoder) else None
        return first.name if isinstance(first, InputMap) else None

    @property
    def stochastic(self) -> bool:
        """True when the `sample` prediction mode is random (bottleneck or input sampler)."""
        return isinstance(self.head, GaussianBottleneck) or self.input_sampler is not None

    @property
    def is_random(self) -> bool:
        """True when the current prediction is random (an attack needs EOT, AutoAttack its `rand` version)."""
        return self.stochastic and self.predict_mode == "sample"

    @property
    def prediction_label(self) -> str:
        """What produces the prediction, for result rows: `deterministic`, `mean` or `sample (S=n)`."""
        if not self.stochastic:
            return "deterministic"
        return f"sample (S={self.predict_samples})" if self.predict_mode == "sample" else "mean"

    @contextlib.contextmanager
    def prediction(self, mode: str | None = None, samples: int | None = None) -> Iterator["Classifier"]:
        """Temporarily set the prediction mode (`mean`/`sample`) and/or the number of random passes
        (`predict_samples`: bottleneck draws, or CiiV's fixation loops); restored afterwards.
        A deterministic model is left as it is."""
        if not self.stochastic:
            yield self
            return
        old_mode, old_samples = self.predict_mode, self.predict_samples
        try:
            if mode is not None:
                self.predict_mode = mode
            if samples is not None:
                self.predict_samples = samples
            yield self
        finally:
            self.predict_mode, self.predict_samples = old_mode, old_samples

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
        """Logits of n random forward passes through the bottleneck, (n, B, C)."""
        h = self.encoder(x)
        if isinstance(self.head, GaussianBottleneck):
            mu, sigma = self.head.stats(h)
            return self.head.decode(self.head.sample(mu, sigma, n))
        return self.head(h).unsqueeze(0).expand(n, -1, -1)

    def sampled_inputs_logits(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features (n, B, F), logits (n, B, C) and intensities r (n, B) of n input-sampler draws."""
        xs, r = self.input_sampler(x, n)
        h = self.encoder(xs.reshape(-1, *x.shape[1:]))
        return h.reshape(n, x.shape[0], -1), self.head(h).reshape(n, x.shape[0], -1), r

    def eot_logits(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """k independent draws of the current prediction's logits, (k, B, C), for EOT gradients. For a
        bottleneck in `sample` mode the only random part is the code z = mu + sigma * eps: the encoder runs
        once and the k x S codes are drawn at the bottleneck (the same law as k full passes, at a fraction
        of the cost). Otherwise the batch passes k times."""
        if not (self.is_random and self.input_sampler is None and isinstance(self.head, GaussianBottleneck)):
            reps = x.unsqueeze(0).expand(k, *x.shape).reshape(-1, *x.shape[1:])
            return self(reps).view(k, x.shape[0], -1)
        self.check_input(x)
        mu, sigma = self.head.stats(self.encoder(x))
        # the codes of k copies of the batch, drawn as k full passes would draw them (same random numbers)
        logits = self.head.decode(self.head.sample(mu.repeat(k, 1), sigma.repeat(k, 1), self.predict_samples))
        return self.head.combine_samples(logits).view(k, x.shape[0], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.predict_mode == "mean" or not self.stochastic:
            return self.logits_deterministic(x)
        if self.input_sampler is not None:
            _, logits, r = self.sampled_inputs_logits(x, self.predict_samples)
            return self.input_sampler.combine(logits, r)
        return self.head.combine_samples(self.sample_logits(x, self.predict_samples))


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
    authors: AuthorsParts = AuthorsParts(),
    signed_input: bool = False,
    input_map: str | None = None,
) -> Classifier:
    """A `Classifier` for `arch` in {mlp, alexnet} with a `linear`, `vib` (Alemi et al.) or `authors`
    head (the bottleneck of the public code that appears to be the authors', whose encoder first
    rescales inputs to [-1, 1]; `authors` says which of its parts to use, see `AUTHORS_BOTTLENECKS`).
    `authors_mlp` is the authors' baseline trunk (784-1024-1024-256). `signed_input=True` makes any
    model rescale its inputs to [-1, 1] first (the `authors` head takes it from `authors`); `input_map` names
    another of `INPUT_MAPS` to apply first instead."""
    builders: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int]] = {
        "mlp": (lambda: mlp_encoder(784, 1024), (1, 28, 28), 1024),
        "alexnet": (lambda: alexnet32_encoder(1024), (3, 32, 32), 1024),
        "authors_mlp": (lambda: authors_mlp_encoder(784, 1024, 256), (1, 28, 28), 256),
    }
    if arch not in builders:
        raise ValueError(f"Unknown architecture {arch!r}. Valid: {', '.join(builders)}.")
    make_encoder, shape, features = builders[arch]
    if head == "linear":
        head_module: nn.Module = LinearHead(features, n_classes)
    elif head == "vib":
        head_module = GaussianBottleneck(features, k, n_classes)
    elif head == "authors":
        head_module = AuthorsBottleneck(features, k, n_classes, deep_heads=authors.deep_heads,
                                        raw_sigma=authors.raw_sigma)
    else:
        raise ValueError(f"Unknown head {head!r}. Valid: {', '.join(HEADS)}.")
    encoder = make_encoder()
    if head == "authors" and signed_input:
        raise ValueError("The authors' bottleneck sets its own input scaling: pass `authors`, not signed_input.")
    if input_map is not None and (signed_input or head == "authors"):
        raise ValueError(f"input_map={input_map!r} with signed_input=True or the authors' bottleneck: a model has one "
                         f"input map.")
    if (head == "authors" and authors.signed_input) or signed_input:
        input_map = "signed"
    if input_map is not None:
        encoder = nn.Sequential(InputMap(input_map), *encoder)
    return Classifier(encoder, head_module, shape, input_sampler, predict_mode, predict_samples)


class RetinotopicMask(nn.Module):
    """CiiV's instrument at the input layer (Tang et al. 2021, the authors' code), for MNIST-sized images.

    Loop i fixates the centre i (mod 9) of a 3x3 grid at 5/32, 16/32 and 27/32 of the image side.
    Pixel (u, v) at distance d from it gets m = ((max d - d + 10) ** 0.3) / max and is kept when
    m + U(0, 1) > 0.9. Each of `inner` samples binarises the image with uniform noise,
    relu(x + w U(-1, 1)) / (relu(...) + 1e-5) with w = `aug_weight` (CiiV's "differentiable
    sampling"), masks it, and the loop's input is their mean. The instrument's intensity r_i is the
    loop's mean mask density. Prediction (`combine`): the mean over loops of logits / r_i.
    """

    def __init__(self, aug_weight: float = 0.9, inner: int = 3) -> None:
        super().__init__()
        self.aug_weight = aug_weight
        self.inner = inner

    def masks(self, n: int, h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Binary masks (n, inner, H, W) for the first n fixations."""
        grid = torch.tensor([5 / 32, 16 / 32, 27 / 32], device=device, dtype=dtype)
        idx = torch.arange(n, device=device) % 9
        cy, cx = grid[idx // 3] * h, grid[idx % 3] * w
        rows = torch.arange(h, device=device, dtype=dtype).view(1, h, 1)
        cols = torch.arange(w, device=device, dtype=dtype).view(1, 1, w)
        d = ((rows - cy.view(-1, 1, 1)) ** 2 + (cols - cx.view(-1, 1, 1)) ** 2).sqrt()  # (n, H, W)
        m = (d.amax((1, 2), keepdim=True) - d + 10.0) ** 0.3
        m = (m / m.amax((1, 2), keepdim=True)).unsqueeze(1)
        return ((m + torch.rand((n, self.inner, h, w), device=device, dtype=dtype)) > 0.9).to(dtype)

    def forward(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n loop inputs (n, B, C, H, W) and their intensities r (n, B)."""
        b, c, h, w = x.shape
        mask = self.masks(n, h, w, x.device, x.dtype)  # (n, inner, H, W)
        noise = torch.empty((n, self.inner, *x.shape), device=x.device, dtype=x.dtype).uniform_(-1, 1)
        spikes = F.relu(x + self.aug_weight * noise)
        spikes = spikes / (spikes + 1e-5)
        loops = (spikes * mask[:, :, None, None]).mean(1)  # (n, B, C, H, W)
        r = mask.mean((1, 2, 3)).view(n, 1).expand(n, b)
        return loops, r

    @staticmethod
    def combine(logits: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """CiiV's prediction: mean over loops of logits / r_i; (n, B, C), (n, B) -> (B, C)."""
        return (logits / (r.unsqueeze(-1) + 1e-9)).mean(0)
