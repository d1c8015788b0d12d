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
