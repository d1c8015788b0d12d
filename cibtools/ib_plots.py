"""The figures and the slider of notebook 01 (the information bottleneck): one job, drawing what
`cibtools.ib_theory` computes. `plot_information_plane` draws on a given Axes; each `*_figure` lays out
one of the notebook's saved figures and returns it."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import paper
from .ib_theory import GaussianToy


def nearest_run(table: pd.DataFrame, alpha: float) -> pd.Series:
    """The row of an alpha sweep whose alpha is nearest to `alpha` on a log scale."""
    return table.iloc[int(np.argmin(np.abs(np.log(table["alpha"].to_numpy()) - math.log(alpha))))]


def plot_information_plane(table: pd.DataFrame, ax, highlight: float | None = None, h_y: float | None = None,
                           cmap: str = "viridis"):
    """The information plane of an alpha sweep: x = KL (I(Z;X) upper bound), y = cross-entropy.

    `table` has columns alpha, kl, ce (test) and optionally train_kl, train_ce. With `h_y` a right
    axis shows H(Y) - ce, the lower bound on I(Z;Y). `highlight` circles the run with that alpha.
    Returns the scatter (for a colour bar).
    """
    t = table.sort_values("alpha")
    norm = _log_norm(t["alpha"])
    ax.plot(t["kl"], t["ce"], color="0.6", lw=1, zorder=1)
    sc = ax.scatter(t["kl"], t["ce"], c=t["alpha"], cmap=cmap, norm=norm, s=60, zorder=3,
                    edgecolor="black", label="test set")
    if {"train_kl", "train_ce"} <= set(t.columns):
        ax.scatter(t["train_kl"], t["train_ce"], c=t["alpha"], cmap=cmap, norm=norm, s=60, marker="s",
                   zorder=2, alpha=0.5, edgecolor="black", linewidth=0.5,
                   label="training set (last epoch's running mean)")
    for _, row in t.iterrows():
        ax.annotate(f"α={row['alpha']:g}", (row["kl"], row["ce"]), textcoords="offset points", xytext=(6, 6),
                    fontsize=8)
    if highlight is not None:
        row = nearest_run(t, highlight)
        ax.scatter([row["kl"]], [row["ce"]], s=320, facecolor="none", edgecolor="red", lw=2, zorder=4,
                   label=f"α = {row['alpha']:g}: KL {row['kl']:.2f}, CE {row['ce']:.3f} nats")
    kls = pd.concat([t["kl"], t.get("train_kl", t["kl"])]).dropna()
    if kls.max() > 20 * max(kls.min(), 1.0):  # spans decades: symmetric log (linear below 1 nat)
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("KL[p(z|x) || N(0, I)]  (nats)  = upper bound on I(Z;X), Eq. 20")
    ax.set_ylabel("cross-entropy E[-log q(y|z)]  (nats)")
    if h_y is not None:
        sec = ax.secondary_yaxis("right", functions=(lambda c: h_y - c, lambda i: h_y - i))
        sec.set_ylabel("H(Y) - CE  (nats) = lower bound on I(Z;Y)")
    ax.legend(fontsize=8, loc="best")
    return sc


def _log_norm(alphas: pd.Series):
    from matplotlib.colors import LogNorm
    lo, hi = float(alphas.min()), float(alphas.max())
    return LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10)


def bound_curves_figure(toy: GaussianToy, bounds: pd.DataFrame, curves: dict, mc: dict) -> plt.Figure:
    """Both bounds of VIB along their one-parameter families (`ib_theory.bound_curves`, lines) with Monte
    Carlo points (`ib_theory.bound_curves_mc`, +- 2 standard errors), the truth, and the loose choices of
    `ib_theory.bound_table` (rows 0: VIB's prior, 2: the misspecified decoder) as dotted lines."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    vib_prior, loose_decoder = bounds.iloc[0], bounds.iloc[2]
    n = mc["rate"][0].n
    _bound_panel(ax1, curves["prior_scales"], curves["rate"], mc["prior_scales"], mc["rate"], n, "C0",
                 "Eq. 20 bound, r(z) = N(0, s Cov(Z)), closed form", toy.i_zx(), "I(Z;X)",
                 f"VIB's prior r(z) = N(0, I): {vib_prior['closed_form']:.3f}", vib_prior["closed_form"])
    ax1.fill_between(curves["prior_scales"], 0, toy.i_zx(), color="red", alpha=0.07,
                     label="below the truth (never reached)")
    ax1.set_xscale("log")
    ax1.set_xticks([0.2, 0.5, 1, 2, 5], ["0.2", "0.5", "1", "2", "5"])
    ax1.minorticks_off()
    ax1.set(xlabel="prior scale s (r = N(0, s Cov(Z)); s = 1 is the true marginal p(z))", ylabel="nats",
            title="Upper bound on I(Z;X) (Eq. 20)", ylim=(0, None))
    ax1.legend(fontsize=8)
    _bound_panel(ax2, curves["decoder_scales"], curves["decoder"], mc["decoder_scales"], mc["decoder"], n, "C2",
                 "Eq. 16 bound, q(y|z) = N(t W* z, S*), closed form", toy.i_zy(), "I(Z;Y)",
                 f"{loose_decoder['variational']}: {loose_decoder['closed_form']:.3f}", loose_decoder["closed_form"])
    top = toy.i_zy() + 0.5 * (toy.i_zy() - curves["decoder"].min())
    ax2.fill_between(curves["decoder_scales"], toy.i_zy(), top, color="red", alpha=0.07,
                     label="above the truth (never reached)")
    ax2.set(xlabel="decoder scale t (q = N(t W* z, S*); t = 1 is the true p(y|z))", ylabel="nats",
            title="Lower bound on I(Z;Y) (Eq. 16)", ylim=(None, top))
    ax2.legend(fontsize=8, loc="lower center")
    fig.tight_layout()
    return fig


def _bound_panel(ax, scales, curve, mc_scales, mc, n, color, label, truth, name, loose_label, loose):
    """One panel of `bound_curves_figure`: the closed-form curve, its Monte Carlo points, the truth and
    the loose variational choice."""
    ax.plot(scales, curve, color=color, label=label)
    ax.errorbar(mc_scales, [e.value for e in mc], yerr=[2 * e.stderr for e in mc], fmt="o", color=color,
                label=f"Monte Carlo ({n} draws)")
    ax.axhline(truth, color="black", lw=1.5, label=f"true {name} = {truth:.3f}")
    ax.axhline(loose, color="C1", ls=":", label=loose_label)


def information_plane_figure(plane: pd.DataFrame, h_y: float, n_test: int, epochs: int, profile: str,
                             eval_samples: int) -> plt.Figure:
    """Left: the information plane of an alpha sweep (`ib_theory.information_plane_row` rows) with a
    colour bar; right: clean accuracy against alpha in both prediction modes, with the paper's VIB numbers
    (Table 3 at alpha = 0.05, beta = 0; Table 1, alpha not stated)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.3, 1]})
    sc = plot_information_plane(plane, ax1, h_y=h_y)
    fig.colorbar(sc, ax=ax1, label="α", pad=0.12)
    ax1.set_title(f"Information plane, MNIST test set ({n_test} images)")
    ax2.plot(plane["alpha"], plane["acc_mean"], "o-", color="C0", label="ours, mean mode (decode μ)")
    ax2.plot(plane["alpha"], plane["acc_sample"], "s--", color="C1", label=f"ours, sample mode ({eval_samples} draws)")
    ax2.scatter([0.05], [paper.ABLATION[(0.05, 0.0)][0]], marker="*", s=160, color="C3", zorder=3,
                label="paper, Table 3: α = 0.05, β = 0 (a VIB)")
    ax2.axhline(paper.TABLE1["mnist"]["vib"]["clean"][0], color="C3", ls=":", label="paper, Table 1: VIB (α not stated)")
    ax2.set_xscale("log")
    ax2.set(xlabel="α (weight of the KL term, Eq. 23)", ylabel="clean test accuracy (%)",
            title=f"Clean accuracy vs α ({epochs} epoch{'s' * (epochs != 1)}, profile {profile})", ylim=(0, 100))
    ax2.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def run_figure(plane: pd.DataFrame, alpha: float, h_y: float) -> plt.Figure:
    """The information plane with the run nearest to `alpha` circled, titled with its accuracy and bound."""
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    plot_information_plane(plane, ax, highlight=alpha, h_y=h_y)
    row = nearest_run(plane, alpha)
    ax.set_title(f"α = {row['alpha']:g}: accuracy {row['acc_mean']:.2f}% (mean mode), "
                 f"lower bound on I(Z;Y) {row['i_zy_lower']:.3f} nats")
    return fig


def interactive_information_plane(plane: pd.DataFrame, h_y: float, widgets):
    """A slider over the runs of `plane` redrawing `run_figure` (nothing is retrained). `widgets` is the
    ipywidgets module (`cibtools.plotting.widgets()`, which is None where there should be no controls)."""
    def show(alpha):
        run_figure(plane, alpha, h_y)
        plt.show()

    slider = widgets.SelectionSlider(options=[(f"{a:g}", a) for a in plane["alpha"]], value=plane["alpha"].iloc[0],
                                     description="α", continuous_update=False)
    return widgets.interactive(show, alpha=slider)
