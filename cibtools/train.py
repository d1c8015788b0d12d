"""One training function for every method: config in, trained model and per-epoch history out.

Data stay on the device as tensors and batches are taken by index; loss terms are accumulated as
tensors and read once per epoch (no host-device sync per step).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import attacks, losses
from .config import TrainConfig
from .data import TensorData, load_dataset
from .models import Classifier, GaussianNoise, RetinotopicMask, build_model


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_for(cfg: TrainConfig) -> Classifier:
    """The untrained model a config describes, with its default prediction mode.

    RS and CiiV predict from random inputs (Cohen's smoothed classifier; CiiV's 9 fixation loops);
    VIB and CausalIB default to `mean` and can be switched to `sample`.
    """
    cfg = cfg.resolved()
    head = "vib" if cfg.method in ("vib", "causalib") else "linear"
    sampler, mode, n_pred = None, "mean", 12
    if cfg.method == "rs":
        sampler, mode, n_pred = GaussianNoise(cfg.rs_sigma), "sample", 16
    elif cfg.method == "ciiv":
        sampler, mode, n_pred = RetinotopicMask(cfg.ciiv_aug_weight, cfg.ciiv_inner), "sample", cfg.ciiv_loops
    return build_model(cfg.arch, head, k=cfg.k or 256, input_sampler=sampler,
                       predict_mode=mode, predict_samples=n_pred)


def training_loss(model: Classifier, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The method's loss on one batch and its terms (tensors, for logging)."""
    m = cfg.method
    if m in ("vib", "causalib"):
        mu, sigma = model.head.stats(model.encoder(x))
        logits = model.head.decode(model.head.sample(mu, sigma, cfg.train_samples))
        total, ce, kl = losses.vib_loss(logits, y, mu, sigma, cfg.alpha)
        terms = {"ce": ce, "kl": kl}
        if m == "causalib":
            causal = losses.causal_loss(model.head.decode, mu, sigma, causal_config(cfg))
            total = total + cfg.beta * causal
            terms["causal"] = causal
        return total, {"loss": total, **terms, "acc": (logits[0].argmax(-1) == y).float().mean()}
    if m == "mixup":
        xm, ya, yb, lam = losses.mixup_batch(x, y, cfg.mixup_alpha)
        logits = model.logits_deterministic(xm)
        total = losses.mixup_loss(logits, ya, yb, lam)
        return total, {"loss": total, "acc": (logits.argmax(-1) == ya).float().mean()}
    if m == "ciiv":
        features, logits, r = model.sampled_inputs_logits(x, cfg.ciiv_loops)
        ce = losses.sampled_cross_entropy(logits, y)
        reg = losses.cross_multiplied_iv(features, r, cfg.ciiv_norm)
        total = ce + cfg.ciiv_w_reg * reg
        return total, {"loss": total, "ce": ce, "iv": reg, "acc": (logits[0].argmax(-1) == y).float().mean()}
    if m == "rs":
        x_in = x + cfg.rs_sigma * torch.randn_like(x)
    elif m == "at_fgsm":
        x_in = attacks.fgsm(model, x, y, cfg.at_eps)
    elif m == "at_pgd":
        x_in = attacks.pgd(model, x, y, cfg.at_eps, steps=cfg.at_steps)
    else:
        x_in = x
    logits = model.logits_deterministic(x_in)
    total = F.cross_entropy(logits, y)
    return total, {"loss": total, "acc": (logits.argmax(-1) == y).float().mean()}


def causal_config(cfg: TrainConfig) -> losses.CausalConfig:
    return losses.CausalConfig(
        variant=cfg.causal_variant, instrument=cfg.causal_instrument, response=cfg.causal_response,
        n_draws=cfg.causal_n_draws, norm=cfg.causal_norm, pair_reduction=cfg.causal_pair_reduction,
    )


@dataclass
class TrainResult:
    model: Classifier
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    device: str = "cpu"
    from_cache: bool = False

    @property
    def train_seconds(self) -> float:
        return sum(h["seconds"] for h in self.history)


def train(
    cfg: TrainConfig,
    device: torch.device | str | None = None,
    data: TensorData | None = None,
    progress: bool = True,
    mixed_precision: bool | None = None,
) -> TrainResult:
    """Train the model `cfg` describes with Adam (fused on CUDA), batches by index on the device.

    On CUDA the convolutional AlexNet runs in channels-last layout with bfloat16 autocast (no loss
    scaling needed; `mixed_precision=False` turns it off). The MLP and every CPU run stay in float32.
    """
    cfg = cfg.resolved()
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(cfg.seed)
    if data is None:
        data = load_dataset(cfg.dataset, "train", device=device, limit=cfg.train_limit)
    data = data.to(device)
    model = model_for(cfg).to(device)
    model.check_input(data.images[:1])
    fast_gpu = device.type == "cuda" and cfg.arch == "alexnet"
    use_amp = fast_gpu if mixed_precision is None else (mixed_precision and device.type == "cuda")
    if fast_gpu:
        model = model.to(memory_format=torch.channels_last)
        data = TensorData(data.images.contiguous(memory_format=torch.channels_last), data.labels, data.name, data.split)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=device.type == "cuda")
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=cfg.lr_decay) if cfg.lr_decay else None
    gen = torch.Generator().manual_seed(cfg.seed)
    n, bs = len(data), cfg.batch_size
    n_batches = max(n // bs, 1)
    history = []
    bar = tqdm(range(cfg.epochs), desc=f"{cfg.method}/{cfg.dataset}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(device)
        sums: dict[str, torch.Tensor] = {}
        for b in range(n_batches):
            idx = perm[b * bs:(b + 1) * bs]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, terms = training_loss(model, cfg, data.images[idx], data.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.detach()
        if sched is not None:
            sched.step()
        row = {name: float(total) / n_batches for name, total in sums.items()}
        row.update(epoch=epoch + 1, seconds=time.perf_counter() - start)
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['acc']:.3f}")
    opt.zero_grad(set_to_none=True)  # free the gradients; attacks must leave them untouched
    model.eval()
    return TrainResult(model, cfg, history, str(device))
