"""Figures of the result tables: one style, the figures laid out from tables (Fig. 4, the paper-settings
sweep), and saving to the profile's figures folder."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt

from .paths import output_dir

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 10})
METHOD_COLORS = {
    "baseline": "#7f7f7f", "mixup": "#bcbd22", "rs": "#17becf", "ciiv": "#9467bd", "vib": "#1f77b4",
    "causalib": "#d62728", "at_fgsm": "#ff7f0e", "at_pgd": "#2ca02c",
}


def save_figure(fig: plt.Figure, name: str, profile: str) -> Path:
    """Save `fig` as `<name>.png` in the figures folder of `profile` and return the path."""
    path = output_dir("figures", profile) / f"{name}.png"
    fig.savefig(path, bbox_inches="tight")
    return path


def widgets():
    """The `ipywidgets` module for a notebook's interactive controls, or None where there should be none:
    in a headless run (the runner sets CIB_HEADLESS=1; nobody could use them there, and one once left a
    papermill run waiting forever on an idle kernel) or when ipywidgets is not installed. Notebooks then
    keep their static figures."""
    if os.environ.get("CIB_HEADLESS", "") in ("1", "true", "yes"):
        return None
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def paper_settings_figure(table, eps_255=(8, 16, 50)):
    """Accuracy against eps at the paper's settings (mean +- sd over seeds; `verdict.paper_settings_table`),
    mean (or deterministic) prediction, one panel per dataset and attack, one line style per variant, the
    paper's mean +- sd at 50/255 as open squares."""
    datasets = list(dict.fromkeys(table["dataset"]))
    attacks = ["FGSM", "PGD-20"]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 3.6 * len(datasets)), squeeze=False, sharey=True)
    for row, d in zip(axes, datasets):
        for ax, attack in zip(row, attacks):
            sub = table[(table["dataset"] == d) & (table["attack"] == attack)]
            drawn = set()  # the paper's square once per method
            for (m, variant, mode), g in sub.groupby(["method", "variant", "mode"], sort=False):
                g = g.sort_values("eps_255")
                style = {"ours": "-", "authors": ":", "alemi": "-."}.get(variant, "-")
                if mode == "sample":
                    continue  # the figure shows the mean (or deterministic) prediction; the table has both
                label = g["label"].iloc[0]
                ax.errorbar(g["eps_255"], g["ours_mean"], yerr=g["ours_sd"].fillna(0), fmt="o" + style, capsize=3,
                            color=METHOD_COLORS.get(m, "k"), label=label, alpha=0.9)
                paper_row = g[g["eps_255"] == 50].dropna(subset=["paper_mean"])
                if len(paper_row) and m not in drawn:
                    drawn.add(m)
                    ax.errorbar([52], paper_row["paper_mean"].iloc[:1], yerr=paper_row["paper_sd"].iloc[:1], fmt="s",
                                mfc="white", capsize=3, color=METHOD_COLORS.get(m, "k"))
            ax.set(title=f"{d}: {attack} (open squares: the paper at 50/255)", xlabel="eps (x 1/255)",
                   xticks=list(eps_255), ylim=(-2, 100))
            ax.set_ylabel("accuracy (%)")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _crossing_markers(ax, cross, j_curves) -> None:
    """Filled triangles on the 50% line at each curve's first eps below 50%, nudged sideways per curve."""
    for j, (curve, c) in enumerate(j_curves):
        row = cross[(cross["panel"] == c["panel"].iloc[0]) & (cross["curve"] == curve)]
        if row.empty or row["ours_255"].iloc[0] == "never":
            continue
        m, sampled = c["method"].iloc[0], "sample" in curve
        ax.plot(row["ours_255"].iloc[0] + 1.2 * (j - 1), 50, marker="v", ms=9, color=METHOD_COLORS[m], mec="black",
                mew=0.6, alpha=0.75 if sampled else 1, zorder=5)


def unbounded_attacks_figure(sweep, cross, paper_crossings: dict[str, int], labels: dict[str, str], title: str,
                             dataset: str = "MNIST", chance: float = 10.0):
    """Fig. 4 redrawn: accuracy against eps (in /255) per panel of `sweep` (FGSM, PGD-k), one line per
    curve (dashed: sample mode), triangles at our 50% crossings (`evaluate.crossing_table`), and the
    paper's FGSM crossings (`paper_crossings`, by method) as dashed verticals."""
    panels = list(dict.fromkeys(sweep["panel"]))
    eps_max = float(sweep["eps_255"].max())
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 4.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, panel in zip(axes, panels):
        curves = list(sweep[sweep["panel"] == panel].groupby("curve", sort=False))
        for curve, c in curves:
            m, sampled = c["method"].iloc[0], "sample" in curve
            ax.plot(c["eps_255"], c["accuracy"], marker="o" if not sampled else "s", ms=3.5, lw=1.6,
                    ls="--" if sampled else "-", color=METHOD_COLORS[m], label=curve, alpha=0.75 if sampled else 1)
        _crossing_markers(ax, cross, curves)
        if panel == "FGSM":
            for m, e in paper_crossings.items():
                ax.axvline(e, color=METHOD_COLORS[m], ls=(0, (5, 3)), lw=1.2)
                ax.annotate(f"paper: {labels.get(m, m)}\n{e}/255", (e, 97), fontsize=7.5, color=METHOD_COLORS[m],
                            ha="left", va="top", xytext=(3, 0), textcoords="offset points")
        ax.axhline(50, color="black", lw=0.8, ls=":")
        ax.axhline(chance, color="grey", lw=0.8, ls="-.")
        ax.text(eps_max, chance + 1, "chance", fontsize=7, color="grey", ha="right", va="bottom")
        ax.set(title=f"{dataset}, {panel}", xlabel="eps (x 1/255)", xlim=(-4, eps_max + 4), ylim=(-2, 102))
        ax.set_xticks(range(0, int(eps_max) + 1, 16))
    axes[0].set_ylabel(f"accuracy (%), n = {int(sweep['n'].iloc[0])}")
    handles, names = axes[0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], ls="", marker="v", ms=8, color="white", mec="black"),
                plt.Line2D([], [], ls=(0, (5, 3)), color="black")]
    names += ["our first eps below 50%", "paper's crossing (FGSM)"]
    fig.legend(handles, names, loc="lower center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
