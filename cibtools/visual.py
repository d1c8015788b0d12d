"""Looking at adversarial examples (Figs. 6-7, Appendix A.2), and measuring what the pictures suggest.

- `adversarial_grid` draws rows of images (clean, adversarial) and of signed perturbations
  (diverging colour map, symmetric limits) with a caption under each image.
- `predict_with_confidence` / `captions` give the predicted class and its probability.
- `per_example_attack` is FGSM or PGD with one eps *per image* (a tensor), so a whole batch can be
  attacked at different budgets in one call.
- `minimal_eps` finds, for every image at once, the smallest eps on a grid (k * resolution) at which
  the attack flips the prediction, by bisection run in parallel over the images.
- `minimal_eps_summary`, `paired_comparison` and `sign_test` summarise those distributions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from . import attacks
from .evaluate import predict, prediction_mode

ATTACK_KINDS = ("fgsm", "pgd")


# --------------------------------------------------------------------------- predictions and captions

@torch.no_grad()
def predict_with_confidence(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels and their softmax probability under the model's current prediction mode.

    In `sample` mode the model's logits are the log of the averaged softmax, so the confidence is
    the averaged probability of the predicted class.
    """
    preds, confs = [], []
    with attacks.eval_mode(model):
        for i in range(0, len(x), batch_size):
            probs = model(x[i:i + batch_size]).softmax(-1)
            conf, pred = probs.max(-1)
            preds.append(pred)
            confs.append(conf)
    return torch.cat(preds), torch.cat(confs)


def captions(model: nn.Module, x: torch.Tensor, class_names: list[str] | None = None,
             y: torch.Tensor | None = None, prefix: str = "") -> list[str]:
    """One caption per image: `<prefix>predicted class  confidence%`, with a cross when wrong (given y)."""
    pred, conf = predict_with_confidence(model, x)
    out = []
    for i, (p, c) in enumerate(zip(pred.tolist(), conf.tolist())):
        name = class_names[p] if class_names is not None else str(p)
        mark = "" if y is None else (" ✓" if p == int(y[i]) else " ✗")
        out.append(f"{prefix}{name} {100 * c:.0f}%{mark}")
    return out


# --------------------------------------------------------------------------- the grid

def _to_numpy_images(images) -> np.ndarray:
    arr = images.detach().float().cpu().numpy() if hasattr(images, "detach") else np.asarray(images, dtype=float)
    if arr.ndim == 3:  # (N, H, W)
        arr = arr[:, None]
    if arr.ndim != 4:
        raise ValueError(f"Expected images shaped (N, C, H, W) or (N, H, W), got {arr.shape}.")
    return arr


def adversarial_grid(rows: list[dict], col_titles: list[str] | None = None, title: str | None = None,
                     cell_size: float = 1.55) -> plt.Figure:
    """A grid with one row per entry of `rows` and one column per image.

    Each row is a dict: `label` (row title, left), `images` (N, C, H, W) in [0, 1], optional
    `captions` (N strings, written under the images) and `signed=True` for a perturbation row, drawn
    with the diverging `RdBu_r` colour map on symmetric limits [-vmax, vmax] (`vmax` given, else the
    largest |value| over all signed rows, so that perturbation rows share one scale) with a colour bar.
    Colour images are shown as RGB; a signed colour row shows the mean over channels.
    Returns the figure: rows x columns image axes, plus one colour-bar axis per signed row.
    """
    if not rows:
        raise ValueError("adversarial_grid needs at least one row.")
    arrays = [_to_numpy_images(r["images"]) for r in rows]
    n_cols = arrays[0].shape[0]
    if any(a.shape[0] != n_cols for a in arrays):
        raise ValueError(f"Every row needs the same number of images; got {[a.shape[0] for a in arrays]}.")
    signed_max = max((float(np.abs(a).max()) for a, r in zip(arrays, rows) if r.get("signed")), default=0.0)
    height = cell_size * 1.25 * len(rows) + (0.45 if title else 0.1)
    fig = plt.figure(figsize=(cell_size * n_cols + 1.9, height))
    grid = fig.add_gridspec(len(rows), n_cols + 1, width_ratios=[1] * n_cols + [0.07], wspace=0.06, hspace=0.42,
                            left=1.1 / (cell_size * n_cols + 1.9), right=0.93, bottom=0.35 / height,
                            top=1 - (0.5 if title else 0.25) / height)
    for r, (row, arr) in enumerate(zip(rows, arrays)):
        signed = bool(row.get("signed"))
        vmax = row.get("vmax") or signed_max or 1e-12
        caps = row.get("captions")
        im = None
        for c in range(n_cols):
            ax = fig.add_subplot(grid[r, c])
            img = arr[c]
            if signed:
                im = ax.imshow(img.mean(0), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            elif img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                ax.imshow(np.clip(img.transpose(1, 2, 0), 0.0, 1.0))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if caps is not None:
                ax.set_xlabel(caps[c], fontsize=7, labelpad=2)
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(row.get("label", ""), fontsize=8, rotation=0, ha="right", va="center", labelpad=6)
        if signed:  # a colour bar in the narrow last column, ticks in units of 1/255
            bar = fig.colorbar(im, cax=fig.add_subplot(grid[r, n_cols]))
            bar.set_ticks([-vmax, 0.0, vmax])
            bar.set_ticklabels([f"{-vmax * 255:.0f}/255", "0", f"+{vmax * 255:.0f}/255"])
            bar.ax.tick_params(labelsize=6)
            bar.set_label("δ", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / height)
    return fig


# --------------------------------------------------------------------------- attacks with one eps per image

def per_example_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor | float,
                       kind: str = "pgd", steps: int = 20, random_start: bool = True,
                       loss: str = "ce", eot: int = 1) -> torch.Tensor:
    """L-inf FGSM or PGD-`steps` where image i has its own budget eps[i] (`cibtools.attacks` takes a
    per-image eps tensor; its step size is 2.5 * eps_i / steps)."""
    if kind not in ATTACK_KINDS:
        raise ValueError(f"Unknown attack {kind!r}. Valid: {', '.join(ATTACK_KINDS)}.")
    if kind == "fgsm":
        return attacks.fgsm(model, x, y, eps, loss=loss, eot=eot)
    return attacks.pgd(model, x, y, eps, steps=steps, random_start=random_start, loss=loss, eot=eot)


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
    exactly what was tried.
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
                      mode=prediction_mode(model), trials=trials)


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


def pixel_correlation(x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """Per-image Pearson correlation between clean and adversarial pixels: how much of the clean
    image's structure survives in the adversarial one (1 = all of it)."""
    a = x.flatten(1).double()
    b = x_adv.flatten(1).double()
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)
