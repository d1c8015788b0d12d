"""How large a perturbation does each image need? The per-image minimal eps (Figs. 6-7, Appendix A.2).

- `per_example_attack` is FGSM or PGD with one eps *per image*, crafted through `evaluate.craft` with
  an `AttackSpec` whose eps is a tensor;
- `minimal_eps` finds, for every image at once, the smallest eps on a grid (k * resolution) at which
  the attack flips the prediction, by bisection run in parallel over the images;
- `minimal_eps_summary`, `paired_comparison` and `sign_test` summarise those distributions;
- `same_budget_table` and `pixel_correlation` measure the perturbations of one common budget.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import TensorData
from .evaluate import AttackSpec, craft, predict, score

ATTACK_KINDS = ("fgsm", "pgd")


def per_example_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor | float,
                       kind: str = "pgd", steps: int = 20, random_start: bool = True,
                       loss: str = "ce", eot: int = 1) -> torch.Tensor:
    """L-inf FGSM or PGD-`steps` where image i has its own budget eps[i] (a tensor; a float is one budget
    for all), crafted by `evaluate.craft`; PGD's step size is 2.5 * eps_i / steps."""
    if kind not in ATTACK_KINDS:
        raise ValueError(f"Unknown attack {kind!r}. Valid: {', '.join(ATTACK_KINDS)}.")
    spec = AttackSpec(kind, eps, steps=steps if kind == "pgd" else 0, loss=loss, eot=eot, random_start=random_start)
    return craft(model, spec, x, y)


# --------------------------------------------------------------------------- minimal eps per image

@dataclass
class MinimalEps:
    """The outcome of `minimal_eps` for N images.

    eps: smallest grid eps found to flip the prediction (0 for images misclassified when clean,
    inf for images no eps up to the grid's top flipped). lower: the largest grid eps known not to
    flip (tried and failed, or 0 for a correctly classified clean image); for a flipped image
    lower = eps - resolution. adversarial: the example found at `eps` (the clean image where eps is
    0 or inf). trials: the bookkeeping, one dict per attack call (image indices, eps tried, flipped).
    """

    eps: torch.Tensor
    lower: torch.Tensor
    adversarial: torch.Tensor
    clean_correct: torch.Tensor
    labels: torch.Tensor
    resolution: float
    max_eps: float
    kind: str
    steps: int
    mode: str
    trials: list[dict] = field(default_factory=list, repr=False)

    @property
    def status(self) -> list[str]:
        out = []
        for ok, e in zip(self.clean_correct.tolist(), self.eps.tolist()):
            out.append("misclassified" if not ok else ("not flipped" if math.isinf(e) else "flipped"))
        return out

    def frame(self, method: str = "") -> pd.DataFrame:
        """One row per image: index, label, status, eps, eps_255 and lower_255."""
        eps = self.eps.cpu().numpy()
        return pd.DataFrame({
            "method": method, "index": np.arange(len(eps)), "label": self.labels.cpu().numpy(),
            "status": self.status, "eps": eps, "eps_255": np.round(eps * 255, 3),
            "lower_255": np.round(self.lower.cpu().numpy() * 255, 3), "attack": self.label, "mode": self.mode,
        })

    @property
    def label(self) -> str:
        return "FGSM" if self.kind == "fgsm" else f"PGD-{self.steps}"


def minimal_eps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, kind: str = "pgd", steps: int = 20,
                resolution: float = 1 / 255, max_eps: float = 1.0, random_start: bool = True, loss: str = "ce",
                eot: int = 1, batch_size: int = 1000) -> MinimalEps:
    """Per image, the smallest eps = k * resolution (k = 1 .. K, K * resolution <= max_eps) that flips it.

    All images are searched at once: first every correctly classified image is attacked at the
    grid's top eps (those that survive get inf); then a bisection over k, in parallel, halves each
    image's bracket (lower: did not flip, upper: flipped) with one batched attack call per round, so
    ~log2(K) + 1 calls in all (9 for 1/255 up to 1). Misclassified clean images get eps 0.
    The bisection assumes the attack succeeds at every eps above the one found (true for FGSM along
    one direction only approximately, and for PGD up to its randomness); `lower` and `trials` record
    exactly what was tried. `model` needs the `models.Classifier` API (`prediction_label`).
    """
    if resolution <= 0 or not 0 < max_eps <= 1:
        raise ValueError("Need resolution > 0 and 0 < max_eps <= 1.")
    top = int(math.floor(max_eps / resolution + 1e-9))
    if top < 1:
        raise ValueError(f"max_eps={max_eps} is below one grid step ({resolution}).")
    x, y = x.detach(), y.detach()
    n = len(y)
    dev = y.device
    correct = predict(model, x) == y
    lo = torch.zeros(n, dtype=torch.long, device=dev)
    hi = torch.full((n,), top, dtype=torch.long, device=dev)
    adversarial = x.clone()
    trials: list[dict] = []

    def attack(idx: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Attack images idx at eps k * resolution (batched); return which flipped, store their examples."""
        flipped = torch.zeros(len(idx), dtype=torch.bool, device=dev)
        for s in range(0, len(idx), batch_size):
            j = idx[s:s + batch_size]
            eps = (k[s:s + batch_size].to(x.dtype) * resolution).clamp(max=1.0)
            adv = per_example_attack(model, x[j], y[j], eps, kind=kind, steps=steps, random_start=random_start,
                                     loss=loss, eot=eot)
            f = predict(model, adv) != y[j]
            adversarial[j[f]] = adv[f]
            flipped[s:s + batch_size] = f
        trials.append({"index": idx.cpu(), "eps": (k.to(torch.float64) * resolution).cpu(), "flipped": flipped.cpu()})
        return flipped

    idx = correct.nonzero().squeeze(1)
    if len(idx):
        flipped = attack(idx, hi[idx])
        never = idx[~flipped]
        lo[never] = top
        active = idx[flipped]
        while len(active := active[(hi[active] - lo[active]) > 1]):
            mid = (lo[active] + hi[active]) // 2
            flipped = attack(active, mid)
            hi[active[flipped]] = mid[flipped]
            lo[active[~flipped]] = mid[~flipped]
    eps = hi.to(torch.float64) * resolution
    eps[~correct] = 0.0
    eps[correct & (lo == top)] = float("inf")
    lower = lo.to(torch.float64) * resolution
    return MinimalEps(eps=eps.cpu(), lower=lower.cpu(), adversarial=adversarial, clean_correct=correct.cpu(),
                      labels=y.cpu(), resolution=resolution, max_eps=top * resolution, kind=kind, steps=steps,
                      mode=model.prediction_label, trials=trials)


def search_all(models: dict[str, nn.Module], data: TensorData, labels: dict[str, str] | None = None,
               **search_kwargs) -> dict[str, MinimalEps]:
    """`minimal_eps` for every model on the same images, printing each search's rounds and time."""
    out = {}
    for m, model in models.items():
        start = time.perf_counter()
        out[m] = minimal_eps(model, data.images, data.labels, **search_kwargs)
        print(f"{(labels or {}).get(m, m)} ({out[m].mode}): {len(out[m].trials)} attack rounds on n={len(data)} "
              f"images, {time.perf_counter() - start:.1f} s")
    return out


# --------------------------------------------------------------------------- summaries

def minimal_eps_summary(results: dict[str, MinimalEps]) -> pd.DataFrame:
    """Per model: images, misclassified, never flipped, and quantiles of the minimal eps (in /255)
    over the images that were correct when clean and flipped (the never-flipped are counted, not averaged)."""
    rows = []
    for name, r in results.items():
        e = r.eps.numpy() * 255
        flipped = e[np.isfinite(e) & r.clean_correct.numpy()]
        q = np.quantile(flipped, [0.1, 0.25, 0.5, 0.75, 0.9]) if len(flipped) else [np.nan] * 5
        rows.append({"method": name, "attack": r.label, "mode": r.mode, "n": len(e),
                     "misclassified": int((~r.clean_correct).sum()), "not flipped": int(np.isinf(e).sum()),
                     "q10": q[0], "q25": q[1], "median": q[2], "q75": q[3], "q90": q[4],
                     "mean": float(flipped.mean()) if len(flipped) else np.nan,
                     "resolution_255": round(r.resolution * 255, 3)})
    return pd.DataFrame(rows)


def fooled_within(result: MinimalEps, eps: float) -> float:
    """Share (%) of the images fooled with a budget <= eps (misclassified clean images count at 0):
    one minus the robust accuracy at eps, read off the search."""
    return 100 * float((result.eps.numpy() <= eps + 1e-12).mean())


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of `wins` against `losses` (ties dropped), p = 1/2 each."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_comparison(a: MinimalEps, b: MinimalEps, name_a: str = "a", name_b: str = "b") -> pd.DataFrame:
    """Over the images both models classify correctly when clean: how often the first model (`a`)
    needs a larger minimal eps than the second (`b`), a smaller one, or the same (inf counts as larger
    than any finite eps); the median paired difference a - b (in /255, over images flipped by both);
    and a two-sided sign test of larger against smaller."""
    both = a.clean_correct & b.clean_correct
    ea, eb = a.eps[both], b.eps[both]
    larger, smaller = int((ea > eb).sum()), int((ea < eb).sum())
    ties = int(len(ea) - larger - smaller)
    finite = torch.isfinite(ea) & torch.isfinite(eb)
    diff = ((ea - eb)[finite] * 255).numpy()
    n = len(ea)
    return pd.DataFrame([{
        "first": name_a, "second": name_b, "images (both correct)": n,
        "first larger": larger, "first smaller": smaller, "same": ties,
        "fraction first larger": larger / n if n else np.nan,
        "fraction first smaller": smaller / n if n else np.nan,
        "median difference (/255)": float(np.median(diff)) if len(diff) else np.nan,
        "sign test p": sign_test(larger, smaller),
    }])


def paired_sentence(row: pd.Series, n: int, first: str = "CausalIB", second: str = "VIB") -> str:
    """One line of a `paired_comparison` row, in words."""
    k = int(row["images (both correct)"])
    return (f"{first} vs {second} on the {k} images both classify correctly (n={n}): {first} needs a larger eps* on "
            f"{row['fraction first larger']:.0%}, a smaller one on {row['fraction first smaller']:.0%}, the same on "
            f"{row['same'] / max(k, 1):.0%}; median paired difference {row['median difference (/255)']:+.0f}/255; "
            f"sign test p = {row['sign test p']:.2g}.")


# --------------------------------------------------------------------------- one common budget

def pixel_correlation(x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """Per-image Pearson correlation between clean and adversarial pixels: how much of the clean
    image's structure survives in the adversarial one (1 = all of it)."""
    a = x.flatten(1).double()
    b = x_adv.flatten(1).double()
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def same_budget_table(models: dict[str, nn.Module], data: TensorData, spec: AttackSpec,
                      labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    """Every model attacked with the same `spec` on `data`: its accuracy (scored by `evaluate.score`),
    the mean |delta| (/255), the mean L2 norm of delta and the mean clean-adversarial pixel correlation.
    Returns the table (one row per model) and the adversarial examples by model."""
    rows, adversarial = [], {}
    for m, model in models.items():
        start = time.perf_counter()
        adv = craft(model, spec, data.images, data.labels)
        row = score(model, data, spec, adv, method=m, seconds=time.perf_counter() - start)
        delta = adv - data.images
        rows.append({"method": (labels or {}).get(m, m), "mode": row["mode"], "attack": row["attack"],
                     "eps_255": row["eps_255"], "n": row["n"], "accuracy (%)": row["accuracy"],
                     "mean |δ| (/255)": 255 * delta.abs().mean().item(),
                     "||δ||_2": delta.flatten(1).norm(dim=1).mean().item(),
                     "corr(clean, adv)": pixel_correlation(data.images, adv).mean().item(),
                     "seconds": row["seconds"]})
        adversarial[m] = adv
    return pd.DataFrame(rows), adversarial
