"""White-box, black-box and AutoAttack adversaries. Inputs in [0, 1]; L-inf unless named.

Every attack runs the model in eval mode and restores its mode afterwards, takes gradients with
respect to the input only (model weights are untouched), works in batches on CPU and CUDA, and
returns examples inside the eps ball and [0, 1]. For models with a random forward pass, `eot`
averages the input gradient over that many random passes (expectation over transformation),
in one batched call when the model's prediction is the `sample` mode.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .models import eval_mode

LOSSES = ("ce", "cw", "ce_on_softmax")
NORMS = ("linf", "l2")


def check_eps(eps: float | torch.Tensor, norm: str = "linf") -> None:
    """Reject budgets that make no sense for images in [0, 1] (a float, or one budget per example)."""
    if norm not in NORMS:
        raise ValueError(f"Unknown norm {norm!r}. Valid: {', '.join(NORMS)}.")
    limit = 1.0 if norm == "linf" else 28.0 * 3  # an L2 ball of radius 84 covers any 3x32x32 image
    if torch.is_tensor(eps):
        if not eps.is_floating_point() or eps.numel() == 0:
            raise ValueError(f"eps as a tensor must hold floating-point budgets, got dtype {eps.dtype}.")
        low, high = float(eps.min()), float(eps.max())
    elif isinstance(eps, (int, float)) and not isinstance(eps, bool):
        low = high = float(eps)
    else:
        raise ValueError(f"eps must be a number (e.g. 50/255) or a tensor of per-image budgets, got {eps!r}.")
    if not (0.0 <= low and high <= limit):
        raise ValueError(
            f"eps={eps} is out of range for an {norm} attack on images in [0, 1]: use 0 <= eps <= {limit} "
            f"(e.g. eps=50/255 for MNIST as in the paper)."
        )


def check_settings(steps: int = 1, step_size: float | torch.Tensor | None = None, restarts: int = 1,
                   eot: int = 1, loss: str = "ce") -> None:
    """Reject attack settings that would silently return clean inputs or walk down the loss."""
    for name, value in (("steps", steps), ("restarts", restarts), ("eot", eot)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r} (an attack with {name}={value!r} "
                             f"would return the clean inputs).")
    if torch.is_tensor(step_size):
        if (not step_size.is_floating_point() or step_size.numel() == 0 or not bool(torch.isfinite(step_size).all())
                or not bool((step_size > 0).all())):
            raise ValueError(f"step_size as a tensor must hold finite floating-point values > 0 (one per image, or "
                             f"one), got {step_size!r}.")
    elif step_size is not None:
        if (isinstance(step_size, bool) or not isinstance(step_size, (int, float)) or not math.isfinite(step_size)
                or not step_size > 0):
            raise ValueError(f"step_size must be a finite number > 0 (None: 2.5 * eps / steps), got {step_size!r}.")
    if loss not in LOSSES:
        raise ValueError(f"Unknown attack loss {loss!r}. Valid: {', '.join(LOSSES)}.")


def check_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """Images must be finite, in [0, 1] and of the model's floating-point dtype; labels int64 (torch.long) in
    [0, classes), one per image."""
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError(f"Images must be a floating-point tensor in [0, 1], got "
                         f"{x.dtype if torch.is_tensor(x) else type(x).__name__} (divide uint8 images by 255).")
    weight = next((p for p in model.parameters() if p.is_floating_point()), None) if isinstance(model, nn.Module) else None
    if weight is not None and x.dtype != weight.dtype:
        raise ValueError(f"Images are {x.dtype} but the model's weights are {weight.dtype}: pass images.to("
                         f"{weight.dtype}) (the shipped datasets load as float32).")
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"Images must be finite values in [0, 1], but {bad} pixel(s) are NaN or infinite.")
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(f"Images must be in [0, 1], got values in [{float(x.min()):g}, {float(x.max()):g}] "
                         f"(images in 0-255: divide by 255).")
    if not torch.is_tensor(y) or y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"Labels must be an int64 (torch.long) tensor with one label per image ({x.shape[0]}), got "
                         f"{tuple(y.shape) if torch.is_tensor(y) else type(y).__name__}"
                         f"{' ' + str(y.dtype) if torch.is_tensor(y) else ''}"
                         f"{' (pass labels.long())' if torch.is_tensor(y) and not y.is_floating_point() else ''}.")
    classes = getattr(model, "n_classes", None)
    if y.numel() and (int(y.min()) < 0 or (classes is not None and int(y.max()) >= classes)):
        raise ValueError(f"Labels must be in [0, {classes if classes is not None else 'classes'}), got "
                         f"values in [{int(y.min())}, {int(y.max())}].")


def _budget(eps: float | torch.Tensor, x: torch.Tensor) -> float | torch.Tensor:
    """eps as a float, or a per-example tensor shaped to broadcast over x (one budget per image)."""
    if not torch.is_tensor(eps) or eps.dim() == 0:
        return float(eps)
    if eps.shape[0] != x.shape[0]:
        raise ValueError(f"eps has {eps.shape[0]} entries for {x.shape[0]} images: give one per image.")
    return eps.to(device=x.device, dtype=x.dtype).view(-1, *[1] * (x.dim() - 1))


def attack_loss(logits: torch.Tensor, y: torch.Tensor, loss: str = "ce") -> torch.Tensor:
    """Per-example loss the attacker maximises.

    ce: cross-entropy on the logits. cw: the Carlini-Wagner margin max_{j!=y} z_j - z_y (Table 8).
    ce_on_softmax: cross-entropy applied to softmax outputs (a double softmax that flattens
    gradients), as the public code that appears to be the authors' does; for protocol studies only.
    """
    if loss == "ce":
        return F.cross_entropy(logits, y, reduction="none")
    if loss == "ce_on_softmax":
        return F.cross_entropy(logits.softmax(-1), y, reduction="none")
    if loss == "cw":
        return -margin(logits, y)
    raise ValueError(f"Unknown attack loss {loss!r}. Valid: {', '.join(LOSSES)}.")


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """AutoAttack's difference-of-logits-ratio loss (Croce & Hein 2020), per example, untargeted:
    -(z_y - max_{j != y} z_j) / (z_(1) - z_(3)), z_(k) the k-th largest logit. Multiplying or shifting all
    logits leaves it unchanged (notebook 03 shows it); pyautoattack computes its own for APGD-T."""
    top = logits.sort(dim=1, descending=True).values
    return -margin(logits, y) / (top[:, 0] - top[:, 2] + 1e-12)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per example, the true class's logit minus the largest other one, z_y - max_{j != y} z_j (negative: wrong)."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    return true - logits.masked_fill(F.one_hot(y, logits.shape[-1]).bool(), float("-inf")).amax(1)


def input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "ce", eot: int = 1) -> torch.Tensor:
    """Gradient of the summed attack loss w.r.t. x, averaged over `eot` random forward passes."""
    x = x.detach().requires_grad_(True)
    if eot == 1:
        total = attack_loss(model(x), y, loss).sum()
    elif hasattr(model, "eot_logits"):  # a Classifier draws the k passes where its randomness is
        logits = model.eot_logits(x, eot)
        total = attack_loss(logits.reshape(-1, logits.shape[-1]), y.repeat(eot), loss).sum() / eot
    else:
        reps = x.unsqueeze(0).expand(eot, *x.shape).reshape(-1, *x.shape[1:])
        total = attack_loss(model(reps), y.repeat(eot), loss).sum() / eot
    (grad,) = torch.autograd.grad(total, x)
    return grad


def _project(x_adv: torch.Tensor, x: torch.Tensor, eps: float | torch.Tensor, norm: str) -> torch.Tensor:
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)  # eps: a float or a per-image tensor
    else:
        norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))
        delta = delta * (eps / norms).clamp(max=1.0)
    return (x + delta).clamp(0.0, 1.0)


def _step(grad: torch.Tensor, step_size: float | torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return step_size * grad.sign()
    g_norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (grad.dim() - 1))
    return step_size * grad / g_norm


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, loss: str = "ce",
         eot: int = 1) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): x + eps * sign(grad), clipped to [0, 1].

    eps: one budget, or a tensor with one budget per image.
    """
    check_eps(eps)
    check_settings(eot=eot, loss=loss)
    check_batch(model, x, y)
    eps = _budget(eps, x)
    with eval_mode(model):
        grad = input_gradient(model, x, y, loss, eot)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float | torch.Tensor,
    steps: int = 20,
    step_size: float | None = None,
    norm: str = "linf",
    random_start: bool = True,
    restarts: int = 1,
    loss: str = "ce",
    eot: int = 1,
) -> torch.Tensor:
    """Projected gradient descent (Madry et al. 2018), PGD-k; step size defaults to 2.5 * eps / k.

    With `restarts` > 1 each example keeps the first restart that fools the model (else the last).
    `loss="cw"` gives CW-k (PGD on the Carlini-Wagner margin loss). eps: one budget, or a tensor with
    one budget per image (the step size then scales per image too).
    """
    check_eps(eps, norm)
    check_settings(steps, step_size, restarts, eot, loss)
    check_batch(model, x, y)
    eps = _budget(eps, x)
    alpha = 2.5 * eps / steps if step_size is None else step_size
    x = x.detach()
    best = x.clone()
    with eval_mode(model):
        fooled = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        for _ in range(restarts):
            x_adv = x.clone()
            if random_start:
                if norm == "linf":
                    start = torch.empty_like(x).uniform_(-1.0, 1.0) * eps
                else:
                    start = torch.randn_like(x)
                    start = start * eps / start.flatten(1).norm(dim=1).view(-1, *[1] * (x.dim() - 1))
                x_adv = (x + start).clamp(0.0, 1.0)
            for _ in range(steps):
                grad = input_gradient(model, x_adv, y, loss, eot)
                x_adv = _project(x_adv + _step(grad, alpha, norm), x, eps, norm).detach()
            if restarts == 1:
                return x_adv
            with torch.no_grad():
                now_fooled = model(x_adv).argmax(1) != y
            take = ~fooled
            best[take] = x_adv[take]
            fooled |= now_fooled
    return best


def authors_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 40,
                step_size: float = 0.01, loss: str = "ce_on_softmax") -> torch.Tensor:
    """PGD exactly as the public code that appears to be the authors' computes it (their `pgd.py`).

    A random offset x0 = x + U(-eps, eps) (not clipped) is where every gradient is taken: each step
    evaluates a = clip(x0 + delta, 0, 1), moves it by step_size * sign(grad), and keeps
    delta = clip(a + step - x0, -eps, eps). The example returned is clip(x + delta, 0, 1): the
    perturbation optimised at the random point is applied at the clean one. Their defaults: 40 steps
    of 0.01, cross-entropy on the returned probabilities, one forward pass (random, if the model is) per step.
    """
    check_eps(eps)
    check_settings(steps, step_size, loss=loss)
    check_batch(model, x, y)
    x = x.detach()
    start = x + torch.empty_like(x).uniform_(-eps, eps)
    delta = torch.zeros_like(x)
    with eval_mode(model):
        for _ in range(steps):
            a = (start + delta).clamp(0.0, 1.0)
            grad = input_gradient(model, a, y, loss)
            delta = (a + step_size * grad.sign() - start).clamp(-eps, eps).detach()
    return (x + delta).clamp(0.0, 1.0)


def autoattack(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "linf",
    version: str = "standard", batch_size: int = 500, seed: int = 0,
) -> torch.Tensor:
    """AutoAttack through the authors' package `pyautoattack` (Croce & Hein 2020).

    Use `standard` for deterministic models and `rand` (APGD with EOT over 20 passes) for models
    whose prediction is random.
    """
    check_eps(eps, norm)
    check_batch(model, x, y)
    from pyautoattack import AutoAttack

    with eval_mode(model):
        adversary = AutoAttack(model, norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps,
                               version=version, device=x.device, seed=seed)
        adversary.verbose = False
        x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=batch_size)  # pyautoattack >= 0.2 API
        return x_adv.detach()
