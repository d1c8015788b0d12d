"""Drawing adversarial examples (Figs. 6-7, Appendix A.2): grids of images, captions and the widget.

- `adversarial_grid` draws rows of images (clean, adversarial) and of signed perturbations
  (diverging colour map, symmetric limits) with a caption under each image; `comparison_grid` lays
  out clean / adversarial per model / perturbation per model.
- `predict_with_confidence`, `captions` and `clean_captions` give the predicted class and its probability.
- `AdversarialBrowser` is the widget that browses precomputed examples by image, budget and attack.
- `minimal_eps_figure` draws the distributions of `cibtools.minimal_eps` (the search lives there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from .evaluate import AttackSpec, craft
from .models import eval_mode


# --------------------------------------------------------------------------- predictions and captions

@torch.no_grad()
def predict_with_confidence(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels and their softmax probability under the model's current prediction mode.

    In `sample` mode the model's logits are the log of the averaged softmax, so the confidence is
    the averaged probability of the predicted class.
    """
    preds, confs = [], []
    with eval_mode(model):
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


def clean_captions(models: dict[str, nn.Module], x: torch.Tensor, class_names: list[str] | None = None,
                   y: torch.Tensor | None = None, short: dict[str, str] | None = None) -> list[str]:
    """One caption per clean image with one line per model: `<short name>: predicted class confidence%`."""
    per_model = [captions(model, x, class_names, y=y, prefix=f"{(short or {}).get(m, m)}: ")
                 for m, model in models.items()]
    return ["\n".join(lines) for lines in zip(*per_model)]


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


def comparison_grid(x: torch.Tensor, y: torch.Tensor, adversarial: dict[str, torch.Tensor],
                    adv_captions: dict[str, list[str]], clean_caps: list[str], attack: str, labels: dict[str, str],
                    class_names: list[str], title: str, vmax: float | None = None) -> plt.Figure:
    """Figs. 6-7's layout: the clean images, then one row of adversarial examples per model (`attack`
    vs model), then one row of signed perturbations per model (colour limits +-vmax; None: the largest)."""
    rows = [{"label": "clean", "images": x, "captions": clean_caps}]
    rows += [{"label": f"{attack} vs\n{labels[m]}", "images": adv, "captions": adv_captions[m]}
             for m, adv in adversarial.items()]
    rows += [{"label": f"δ vs {labels[m]}", "images": adv - x, "signed": True, "vmax": vmax}
             for m, adv in adversarial.items()]
    return adversarial_grid(rows, col_titles=[class_names[int(v)] for v in y], title=title)


class AdversarialBrowser:
    """The widget of notebook 08: FGSM and PGD-20 examples against each model, precomputed for the
    images `x` at every budget of `eps_255`, browsed by first image, budget and attack."""

    def __init__(self, models: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor, class_names: list[str],
                 labels: dict[str, str], eps_255: list[int], short: dict[str, str] | None = None, eot: int = 1,
                 mode: str = "", n_show: int = 6) -> None:
        self.x, self.y, self.names, self.labels, self.eps_255 = x, y, class_names, labels, list(eps_255)
        self.mode, self.n_show = mode, min(n_show, len(x))
        self.clean_caps = clean_captions(models, x, class_names, y, short)
        self.store = {}
        for m, model in models.items():
            for kind in ("fgsm", "pgd"):
                for e255 in self.eps_255:
                    spec = AttackSpec(kind, e255 / 255, steps=20 if kind == "pgd" else 0, eot=eot)
                    adv = craft(model, spec, x, y)
                    self.store[m, kind, e255] = (adv, captions(model, adv, class_names, y=y))

    def draw(self, index: int = 0, eps_255: int | None = None, attack: str = "pgd") -> None:
        """Draw images index .. index + n_show - 1 at `eps_255` (default: the first budget) under `attack`."""
        eps_255 = self.eps_255[0] if eps_255 is None else eps_255
        s = slice(index, index + self.n_show)
        name = "FGSM" if attack == "fgsm" else "PGD-20"
        models = list(dict.fromkeys(m for m, _, _ in self.store))
        comparison_grid(self.x[s], self.y[s], {m: self.store[m, attack, eps_255][0][s] for m in models},
                        {m: self.store[m, attack, eps_255][1][s] for m in models}, self.clean_caps[s], name,
                        self.labels, self.names, vmax=eps_255 / 255,
                        title=f"{name} at eps = {eps_255}/255 ({self.mode} mode), images {index}-{index + self.n_show - 1}")
        plt.show()

    def show(self, widgets_module=None, eps_255: int | None = None) -> None:
        """In a live kernel (`widgets_module` is ipywidgets): the controls and the grid they redraw. Without
        it (a headless run): one static view, PGD at `eps_255` (or the first budget when not offered)."""
        default = eps_255 if eps_255 in self.eps_255 else self.eps_255[0]
        if widgets_module is None:
            self.draw(eps_255=default)
            return
        W = widgets_module
        W.interact(self.draw,
                   index=W.IntSlider(value=0, min=0, max=max(len(self.x) - self.n_show, 0), description="first image"),
                   eps_255=W.SelectionSlider(options=self.eps_255, value=default, description="eps (/255)"),
                   attack=W.ToggleButtons(options=["pgd", "fgsm"], value="pgd", description="attack"))


# --------------------------------------------------------------------------- minimal eps figures

def _cumulative_panel(ax, search: dict, labels: dict[str, str], colors: dict[str, str], eps_255: float) -> None:
    """Share of images fooled with a budget <= eps, per model (misclassified clean images at 0)."""
    finite_all = np.concatenate([r.eps.numpy()[np.isfinite(r.eps.numpy())] * 255 for r in search.values()])
    right = max(finite_all.max() if len(finite_all) else 0, eps_255) * 1.05
    n = 0
    for m, r in search.items():
        e = np.sort(r.eps.numpy() * 255)
        n = len(e)
        fin = e[np.isfinite(e)]
        frac = 100 * np.arange(1, len(fin) + 1) / len(e)
        ax.step(np.append(fin, right), np.append(frac, frac[-1] if len(frac) else 0), where="post",
                color=colors.get(m, "k"), label=f"{labels.get(m, m)} ({r.mode})")
    ax.axvline(eps_255, color="black", ls=":", lw=1)
    ax.text(eps_255 + 0.5, 50, f"paper's eps {eps_255}/255", fontsize=7.5, rotation=90, va="center")
    ax.set(xlabel="minimal eps* (x 1/255)", ylabel=f"images fooled with budget <= eps (%), n = {n}", ylim=(0, 101),
           xlim=(0, right), title="Distribution of the minimal PGD budget")
    ax.legend(fontsize=8, loc="lower right")


def _paired_panel(bx, a, b, labels: tuple[str, str], colors: tuple[str, str]) -> None:
    """eps* against model a over eps* against model b, per image both classify correctly (inf drawn at the top)."""
    both = (a.clean_correct & b.clean_correct).numpy()
    ea, eb = a.eps.numpy()[both] * 255, b.eps.numpy()[both] * 255
    top = np.nanmax(np.concatenate([ea[np.isfinite(ea)], eb[np.isfinite(eb)], [1.0]])) * 1.08
    ea_p, eb_p = np.where(np.isfinite(ea), ea, top), np.where(np.isfinite(eb), eb, top)
    jit = np.random.default_rng(0).uniform(-0.3, 0.3, size=(2, len(ea_p)))
    above = ea_p > eb_p
    bx.scatter(eb_p + jit[0], ea_p + jit[1], s=12, alpha=0.55, c=np.where(above, colors[0],
               np.where(ea_p < eb_p, colors[1], "grey")), edgecolors="none")
    bx.plot([0, top], [0, top], color="black", lw=0.8)
    bx.set(xlabel=f"eps* against {labels[1]} (x 1/255)", ylabel=f"eps* against {labels[0]} (x 1/255)",
           xlim=(0, top * 1.02), ylim=(0, top * 1.02), title=f"Paired, {both.sum()} images both classify correctly")
    bx.text(0.03, 0.95, f"{labels[0]} needs more: {above.mean():.0%}", transform=bx.transAxes, color=colors[0],
            fontsize=8, va="top")
    bx.text(0.97, 0.05, f"{labels[1]} needs more: {(ea_p < eb_p).mean():.0%}", transform=bx.transAxes,
            color=colors[1], fontsize=8, ha="right")


def minimal_eps_figure(search: dict, labels: dict[str, str], colors: dict[str, str], eps_255: float, title: str,
                       first: str = "causalib", second: str = "vib") -> plt.Figure:
    """Left: the empirical distribution of eps* per model (`minimal_eps.MinimalEps` results by method);
    right: eps* against `first` over eps* against `second`, image by image."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.3))
    _cumulative_panel(ax, search, labels, colors, eps_255)
    _paired_panel(bx, search[first], search[second], (labels[first], labels[second]),
                  (colors.get(first, "k"), colors.get(second, "k")))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def at_minimal_eps_grid(models: dict[str, nn.Module], search: dict, index: torch.Tensor, x: torch.Tensor,
                        y: torch.Tensor, clean_caps: list[str], labels: dict[str, str], class_names: list[str],
                        title: str) -> plt.Figure:
    """The images `index` of the search, each at its own minimal eps* against each model (the caption
    gives eps* in /255 and the prediction there)."""
    adversarial, caps = {}, {}
    for m, model in models.items():
        r = search[m]
        adversarial[m] = r.adversarial[index].to(x.device)
        preds = captions(model, adversarial[m], class_names, y=y)
        caps[m] = [f"eps* {255 * e:.0f}: {c}" for e, c in zip(r.eps[index.cpu()].tolist(), preds)]
    return comparison_grid(x, y, adversarial, caps, clean_caps, "at eps*", labels, class_names, title)
