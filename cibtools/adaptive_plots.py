"""The figures of notebook 09's adaptive evaluation, drawn from the tables `adaptive` returns: one job,
plotting (the curves of accuracy against EOT samples and PGD steps, accuracy under each protocol, and
notebook 03's agreement of EOT gradients with the expected gradient)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .adaptive import PROTOCOLS
from .plotting import METHOD_COLORS

PROTOCOL_COLORS = {"authors": "#bdbdbd", "authors + logits": "#9ecae1", "authors + reported prediction": "#fdae6b",
                   "sound": "#222222"}


def curves_figure(curves: pd.DataFrame, datasets: Sequence[str], eot_samples: Sequence[int],
                  pgd_steps: Sequence[int], eps_255: float, curve_steps: int, profile: str) -> plt.Figure:
    """Per dataset: PGD-`curve_steps` accuracy against EOT samples (random predictions), and PGD accuracy
    against steps (with restarts and EOT where the curves have them); `curves` has a `who` column."""
    fig, axes = plt.subplots(len(datasets), 2, figsize=(16, 4 * len(datasets)), squeeze=False)
    for row, d in zip(axes, datasets):
        sub = curves[curves["dataset"] == d]
        for w, c in sub[sub["protocol"] == "EOT curve"].groupby("who", sort=False):
            row[0].plot(c["eot"], c["accuracy"], marker="o", color=METHOD_COLORS[c["method"].iloc[0]],
                        label=f"{w}, n={c['n'].iloc[0]}")
        for (w, r), c in sub[sub["protocol"] == "steps curve"].groupby(["who", "restarts"], sort=False):
            k = int(c["eot"].iloc[0])
            label = w + (f", {r} restarts" if r > 1 else "") + (f", EOT-{k}" if k > 1 else "") + f", n={c['n'].iloc[0]}"
            row[1].plot(c["steps"], c["accuracy"], marker="o" if r == 1 else "s",
                        ls="--" if r > 1 else ":" if k > 1 else "-", color=METHOD_COLORS[c["method"].iloc[0]], label=label)
        row[0].set(xscale="log", title=f"{d}: PGD-{curve_steps} at eps={eps_255}/255 vs EOT samples",
                   xlabel="EOT samples K per gradient (log scale)", ylabel="accuracy (%)", ylim=(-2, 102))
        row[0].set_xticks(list(eot_samples), [str(k) for k in eot_samples])
        row[1].set(xscale="log", title=f"{d}: PGD at eps={eps_255}/255 vs steps", xlabel="PGD steps (log scale)",
                   ylabel="accuracy (%)", ylim=(-2, 102))
        row[1].set_xticks(list(pgd_steps), [str(k) for k in pgd_steps])
        for ax in row:
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(f"Adaptive attacks, profile {profile}: a sound attack's curve falls, then stays flat", fontsize=10)
    fig.tight_layout()
    return fig


def protocols_figure(prot: pd.DataFrame, datasets: Sequence[str], eps_255: dict[str, float]) -> plt.Figure:
    """Per dataset, a bar per reported prediction (`who`) and protocol: the accuracy the attack leaves."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.2), squeeze=False)
    width = 0.8 / len(PROTOCOLS)
    for ax, d in zip(axes[0], datasets):
        sub = prot[prot["dataset"] == d]
        labels = list(dict.fromkeys(sub["who"]))
        for j, p in enumerate(PROTOCOLS):
            c = sub[sub["protocol"] == p].set_index("who").reindex(labels)
            xs = np.arange(len(labels)) + (j - 1.5) * width
            ax.bar(xs, c["accuracy"], width, color=PROTOCOL_COLORS[p], edgecolor="black", linewidth=0.4, label=p)
            for x, a in zip(xs, c["accuracy"]):
                if not np.isnan(a):
                    ax.text(x, a + 1, f"{a:.1f}", ha="center", va="bottom", fontsize=6, rotation=90)
        ns = sub.groupby("who", sort=False)["n"].first()
        ax.set_xticks(range(len(labels)), [f"{w}\nn={ns[w]}" for w in labels], rotation=30, ha="right", fontsize=8)
        ax.set(title=f"{d}: PGD at eps = {eps_255[d]}/255, by protocol", ylabel="accuracy of the reported prediction (%)",
               ylim=(0, 102))
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("Accuracy the attack leaves (lower = stronger attack); bars at 0 are labelled 0.0", fontsize=9)
    fig.tight_layout()
    return fig


def eot_agreement_figure(table: pd.DataFrame, labels: dict[str, str], title: str) -> plt.Figure:
    """Notebook 03: `adaptive.eot_gradient_agreement` rows of one or more models, against EOT samples k:
    the cosine between the EOT-k and the reference gradient (left) and the share of pixels whose sign agrees
    (right), one line per model, each point labelled with its value."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for method, rows in table.groupby("method", sort=False):
        label = f"{labels.get(method, method)}, {rows['mode'].iloc[0]}"
        for ax, column, fmt in ((axes[0], "cosine", "{:.3f}"), (axes[1], "sign agreement", "{:.1f}")):
            ax.plot(rows["eot"], rows[column], marker="o", color=METHOD_COLORS.get(method, "black"), label=label)
            for k, v in zip(rows["eot"], rows[column]):
                ax.annotate(fmt.format(v), (k, v), xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7)
    ks = sorted(table["eot"].unique())
    reference, n = int(table["reference"].iloc[0]), int(table["n"].iloc[0])
    axes[0].set(ylabel="cosine similarity", title=f"cosine of the EOT-k gradient with an EOT-{reference} one")
    axes[1].set(ylabel="pixels with the same sign (%)", title="share of pixels stepping the same way")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel(f"random passes k averaged per gradient (EOT-k, log scale); n={n} images")
        ax.margins(y=0.15)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
