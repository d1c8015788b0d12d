"""One training function for every method: config in, trained model and per-epoch history out.

Data stay on the device as tensors and batches are taken by index; loss terms are accumulated as
tensors and read once per epoch (no host-device sync per step).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import attacks, losses
from .config import TrainConfig
from .data import TensorData, load_dataset
from .models import AUTHORS_BOTTLENECKS, AuthorsParts, Classifier, GaussianNoise, RetinotopicMask, build_model


def autocast_dtype(device) -> torch.dtype | None:
    """The mixed-precision type for training on `device`: bfloat16 on CUDA devices of compute capability 8 or
    more (A100, H100, L4, RTX 30xx), which run it natively; float16 (with loss scaling) on older CUDA devices
    such as Colab's free T4 (7.5), which emulate bfloat16 slowly; None (float32) on the CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_for(cfg: TrainConfig) -> Classifier:
    """The untrained model a config describes, with its default prediction mode.

    RS and CiiV predict from random inputs (Cohen's smoothed classifier; CiiV's 9 fixation loops);
    VIB and CausalIB default to `mean` and can be switched to `sample`.
    """
    cfg = cfg.resolved()
    head = "linear"
    if cfg.method in ("vib", "causalib"):
        head = "authors" if cfg.bottleneck in AUTHORS_BOTTLENECKS else "vib"
    sampler, mode, n_pred = None, "mean", 12
    if cfg.method == "rs":
        sampler, mode, n_pred = GaussianNoise(cfg.rs_sigma), "sample", 16
    elif cfg.method == "ciiv":
        sampler, mode, n_pred = RetinotopicMask(cfg.ciiv_aug_weight, cfg.ciiv_inner), "sample", cfg.ciiv_loops
    model = build_model(cfg.arch, head, k=cfg.k or 256, input_sampler=sampler, predict_mode=mode,
                        predict_samples=n_pred, authors=AUTHORS_BOTTLENECKS.get(cfg.bottleneck, AuthorsParts()),
                        signed_input=cfg.signed_input, input_map=cfg.input_map)
    if cfg.first_layer_init == "signed":
        start_as_signed(first_linear(model))
    return model


def first_linear(model: Classifier) -> nn.Linear:
    """The first Linear layer of the model's encoder (the one that sees the pixels)."""
    for module in model.encoder.modules():
        if isinstance(module, nn.Linear):
            return module
    raise ValueError("The model's encoder has no Linear layer.")


@torch.no_grad()
def start_as_signed(layer: nn.Linear) -> None:
    """Make `layer` on [0, 1] inputs compute what it computed on x * 2 - 1: W' = 2W, b' = b - W 1."""
    layer.bias.sub_(layer.weight.sum(1))
    layer.weight.mul_(2.0)


def parameter_groups(model: Classifier, cfg: TrainConfig) -> list[dict]:
    """Adam's parameter groups: one, or with `first_bias_lr_scale` the first layer's bias in its own group
    at lr x that scale."""
    if cfg.first_bias_lr_scale is None:
        return [{"params": list(model.parameters())}]
    bias = first_linear(model).bias
    rest = [p for p in model.parameters() if p is not bias]
    return [{"params": rest}, {"params": [bias], "lr": cfg.lr * cfg.first_bias_lr_scale}]


def training_loss(model: Classifier, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The method's loss on one batch and its terms (tensors, for logging)."""
    m = cfg.method
    if m in ("vib", "causalib"):
        mu, sigma = model.head.stats(model.encoder(x))
        logits = model.head.decode(model.head.sample(mu, sigma, cfg.train_samples))
        if cfg.bottleneck in AUTHORS_BOTTLENECKS:  # raw sigma (log clamped at 1e-8), CE and KL in bits
            total, ce, kl = losses.vib_loss(logits, y, mu, sigma, cfg.alpha, sigma_floor=1e-8, bits=True)
        else:
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
    # the authors' MLP returns probabilities and trains nn.CrossEntropyLoss on them (a double softmax)
    total = F.cross_entropy(logits.softmax(-1) if cfg.double_softmax else logits, y)
    return total, {"loss": total, "acc": (logits.argmax(-1) == y).float().mean()}


def causal_config(cfg: TrainConfig) -> losses.CausalConfig:
    return losses.CausalConfig(
        variant=cfg.causal_variant, instrument=cfg.causal_instrument, response=cfg.causal_response,
        n_draws=cfg.causal_n_draws, norm=cfg.causal_norm, pair_reduction=cfg.causal_pair_reduction,
    )


class TrainingError(FloatingPointError):
    """The training loss became NaN or infinite; nothing was cached."""


@dataclass
class TrainResult:
    model: Classifier
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    device: str = "cpu"
    from_cache: bool = False
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)  # epoch -> state_dict

    @property
    def train_seconds(self) -> float:
        return sum(h["seconds"] for h in self.history)


def _save_state(path: Path, state: dict) -> None:
    """Write a resume state atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train(
    cfg: TrainConfig,
    device: torch.device | str | None = None,
    data: TensorData | None = None,
    progress: bool = True,
    mixed_precision: bool | None = None,
    state_path: Path | None = None,
    snapshot_epochs: tuple[int, ...] = (),
) -> TrainResult:
    """Train the model `cfg` describes with Adam (fused: one kernel for all parameters, on CUDA and the CPU;
    `benchmarks/bench_ratios.py` measured a CPU step at 0.72x the per-parameter loop's time), batches by index
    on the device.

    On CUDA the convolutional AlexNet runs in channels-last layout with mixed precision where the device
    has it (`autocast_dtype`: bfloat16 from compute capability 8, float16 with a GradScaler below, e.g. a
    T4; `mixed_precision=False` turns it off). The MLP and every CPU run stay in float32.
    With `cfg.ema_decay` the returned model holds the moving average of the weights.

    `state_path` makes training resumable: after every epoch the model, optimiser, scheduler, moving
    average, random-number states and history are written there (atomically), and a later call with
    the same config continues from the last saved epoch, on the CPU bit for bit as if never stopped.
    `snapshot_epochs` keeps a copy of the (averaged) weights after those epochs in `result.snapshots`.
    A loss that becomes NaN or infinite raises `TrainingError` naming the epoch and step.
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
    amp_dtype = autocast_dtype(device) if use_amp else None
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    if fast_gpu:
        model = model.to(memory_format=torch.channels_last)
        data = TensorData(data.images.contiguous(memory_format=torch.channels_last), data.labels, data.name, data.split)
    opt = torch.optim.Adam(parameter_groups(model, cfg), lr=cfg.lr, betas=(cfg.adam_beta1, 0.999),
                           fused=device.type in ("cuda", "cpu"))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=cfg.lr_decay) if cfg.lr_decay else None
    params = [p for p in model.parameters()]
    ema = [p.detach().clone() for p in params] if cfg.ema_decay else None
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    if state_path is not None and Path(state_path).exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state.get("config") != cfg.as_dict():
            raise ValueError(f"Resume state {state_path} belongs to another config; delete it to start over.")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        if ema is not None:
            for e, saved in zip(ema, state["ema"]):
                e.copy_(saved)
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        history, snapshots = state["history"], state["snapshots"]
    n, bs = len(data), cfg.batch_size
    n_batches = max(n // bs, 1)
    bar = tqdm(range(len(history), cfg.epochs), desc=f"{cfg.method}/{cfg.dataset}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(device)
        sums: dict[str, torch.Tensor] = {}
        first_bad = torch.full((), -1, device=device)
        for b in range(n_batches):
            idx = perm[b * bs:(b + 1) * bs]
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                loss, terms = training_loss(model, cfg, data.images[idx], data.labels[idx])
            bad = ~torch.isfinite(loss.detach())
            first_bad = torch.where(bad & (first_bad < 0), torch.full_like(first_bad, b), first_bad)
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:  # float16: scale the loss so small gradients survive; steps with inf/NaN gradients are skipped
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            if ema is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(ema, [p.detach() for p in params], 1.0 - cfg.ema_decay)
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value.detach()
        if int(first_bad) >= 0:
            raise TrainingError(
                f"The {cfg.method} training loss became NaN or infinite at epoch {epoch + 1}, step "
                f"{int(first_bad) + 1} of {n_batches}; nothing was cached. Lower lr or check alpha/beta "
                f"and the data.")
        if sched is not None:
            sched.step()
        row = {name: float(total) / n_batches for name, total in sums.items()}
        row.update(epoch=epoch + 1, seconds=time.perf_counter() - start)
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['acc']:.3f}")
        if epoch + 1 in snapshot_epochs:
            weights = ema if ema is not None else params
            snapshots[epoch + 1] = _state_with(model, weights)
        if state_path is not None:
            _save_state(Path(state_path), {
                "config": cfg.as_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else None, "ema": ema,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "history": history, "snapshots": snapshots,
            })
    opt.zero_grad(set_to_none=True)  # free the gradients; attacks must leave them untouched
    if ema is not None:
        with torch.no_grad():
            for p, e in zip(params, ema):
                p.copy_(e)
    model.eval()
    return TrainResult(model, cfg, history, str(device), snapshots=snapshots)


def _state_with(model: Classifier, weights: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state_dict with its parameters replaced by `weights` (e.g. the EMA)."""
    names = [name for name, _ in model.named_parameters()]
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    for name, w in zip(names, weights):
        state[name] = w.detach().cpu().clone()
    return state
