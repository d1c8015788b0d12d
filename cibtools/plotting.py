"""Figure helpers shared by the notebooks: one style, and saving to the profile's figures folder."""
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
