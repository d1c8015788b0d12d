"""The figures and the widget of notebook 02 (the linear confounded SCM of Sec. 3.2): one job, drawing
what `cibtools.scm` simulates and estimates. Each `plot_*` draws on a given matplotlib Axes; each
`*_figure` lays out one of the notebook's saved figures and returns it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .scm import LinearSCM, effect_ratios, iv_wald, ols_bias_formula, ols_slope, summarise_estimates

COLORS = {"OLS": "#d62728", "IV (Wald)": "#1f77b4", "2SLS": "#2ca02c", "truth": "black", "formula": "#ff7f0e"}


def plot_causal_graph(ax: plt.Axes, instrument: bool = True, scm: LinearSCM | None = None) -> plt.Axes:
    """Figure 2 (instrument=False) or Figure 3 (True): S -> X, S -> Y, X -> Y (and R -> X)."""
    pos = {"S": (0.5, 0.8), "X": (0.25, 0.25), "Y": (0.75, 0.25), "R": (0.0, 0.8)}
    names = {"S": "S\nstyle\n(hidden)", "X": "X\ndata", "Y": "Y\nlabel", "R": "R\ninstrument\n(noise)"}
    nodes = ["S", "X", "Y"] + (["R"] if instrument else [])
    w = scm or LinearSCM()
    edges = [("S", "X", "w_{sx}", w.w_sx), ("S", "Y", "w_{sy}", w.w_sy), ("X", "Y", "w_{xy}", w.w_xy)]
    if instrument:
        edges.append(("R", "X", "w_{rx}", w.w_rx))
    for a, b, label, value in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        color = "#1f77b4" if (a, b) == ("X", "Y") else ("#2ca02c" if a == "R" else "#d62728")
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya),
                    arrowprops=dict(arrowstyle="-|>", lw=2, color=color, shrinkA=30, shrinkB=30, mutation_scale=18))
        text = f"${label}$" + (f" = {value:g}" if scm is not None else "")
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        nx, ny = -(yb - ya), xb - xa  # normal to the edge, pointed away from the middle of the graph
        norm = np.hypot(nx, ny)
        nx, ny = nx / norm, ny / norm
        if nx * (mx - 0.45) + ny * (my - 0.5) < 0:
            nx, ny = -nx, -ny
        ha = "right" if nx < -0.3 else ("left" if nx > 0.3 else "center")
        ax.text(mx + 0.035 * nx, my + 0.05 * ny, text, ha=ha, va="center", fontsize=10, color=color)
    for node in nodes:
        dashed = node == "S"
        ax.add_patch(plt.Circle(pos[node], 0.11, facecolor="#f4f4f4", edgecolor="black", lw=1.5,
                                ls="--" if dashed else "-", zorder=3))
        ax.text(*pos[node], names[node], ha="center", va="center", fontsize=9, zorder=4)
    ax.set(xlim=(-0.15, 0.92), ylim=(0.1, 0.95), aspect="equal")
    ax.axis("off")
    eqs = (r"$x_r = w_{sx}s + w_{rx}r + u_x$" "\n" r"$y_r = w_{xy}x_r + w_{sy}s + u_y$" if instrument else
           r"$x = w_{sx}s + u_x$" "\n" r"$y = w_{xy}x + w_{sy}s + u_y$")
    ax.set_title(("Figure 3: with the instrument R" if instrument else "Figure 2: without instrument")
                 + "\n" + eqs, fontsize=10)
    return ax


def plot_estimates_vs_n(summary: pd.DataFrame, scm: LinearSCM, ax: plt.Axes, level: float = 0.95) -> plt.Axes:
    """Median estimate vs n, shaded: the central `level` of the estimates over replications, dotted: the
    average asymptotic interval of one data set; black: w_xy; orange dashed: OLS's biased limit."""
    for name, sub in summary.groupby("estimator"):
        c = COLORS[name]
        ax.plot(sub.n, sub["median"], "o-", color=c, label=f"{name}: median estimate")
        ax.fill_between(sub.n, sub.q_low, sub.q_high, color=c, alpha=0.2,
                        label=f"{name}: {level:.0%} of estimates")
        if "mean_ci_low" in sub:
            ax.plot(sub.n, sub.mean_ci_low, ":", color=c, lw=1.2)
            ax.plot(sub.n, sub.mean_ci_high, ":", color=c, lw=1.2)
    ax.axhline(scm.w_xy, color="black", lw=1.5, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    ax.axhline(scm.w_xy + ols_bias_formula(scm), color=COLORS["formula"], ls="--", lw=1.5,
               label="OLS limit $w_{xy}$ + bias formula")
    ax.set_xscale("log")
    ax.set(xlabel="sample size n (units, log scale)", ylabel="estimated effect of X on Y (slope)",
           title="Estimates vs sample size\n(dotted: average 95% CI of one data set)")
    ax.legend(fontsize=7.5, loc="best")
    return ax


def plot_estimates_vs_confounding(df: pd.DataFrame, scm: LinearSCM, ax: plt.Axes, vary: str = "w_sy",
                                  level: float = 0.95) -> plt.Axes:
    """Estimates (median and central range over replications) against the confounding strength, with
    each estimator's closed-form large-sample value."""
    summary = summarise_estimates(df, by="strength", level=level)
    for name, sub in summary.groupby("estimator"):
        c = COLORS[name]
        ax.plot(sub.strength, sub["median"], "o", color=c, label=f"{name}: median estimate")
        ax.fill_between(sub.strength, sub.q_low, sub.q_high, color=c, alpha=0.2)
    formula = df.drop_duplicates(["strength", "estimator"])
    ols = formula[formula.estimator == "OLS"]
    ax.plot(ols.strength, ols.formula, "--", color=COLORS["formula"], lw=1.5, label="OLS: $w_{xy}$ + bias formula")
    ax.axhline(scm.w_xy, color="black", lw=1.5, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    label = {"w_sy": "$w_{sy}$ (S -> Y)", "w_sx": "$w_{sx}$ (S -> X)", "both": "$w_{sx} = w_{sy}$"}[vary]
    ax.set(xlabel=f"confounding strength {label} (path coefficient, unitless)",
           ylabel="estimated effect of X on Y (slope)", title="Estimates vs confounding strength")
    ax.legend(fontsize=7.5, loc="best")
    return ax


def plot_ols_vs_iv(scm: LinearSCM, n: int = 1000, reps: int = 200, seed: int = 0, show_points: int = 400):
    """The widget's picture: one data set (y against x with the true, OLS and IV lines) and the
    distribution of both estimates over `reps` data sets of size n, with the closed-form limits."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        _draw_ols_vs_iv(a1, a2, scm, n, reps, seed, show_points)
    fig.tight_layout()
    return fig


def _draw_ols_vs_iv(a1, a2, scm, n, reps, seed, show_points):
    smp = scm.sample(n, seed)
    b_ols, b_iv = float(ols_slope(smp.x, smp.y)), float(iv_wald(smp.r, smp.x, smp.y))
    k = min(show_points, n)
    a1.scatter(smp.x[:k], smp.y[:k], s=6, alpha=0.4, color="grey", label=f"{k} of the n = {n} units")
    grid = np.linspace(np.quantile(smp.x, 0.01), np.quantile(smp.x, 0.99), 2)
    xm, ym = smp.x.mean(), smp.y.mean()
    for name, b, c in (("truth", scm.w_xy, COLORS["truth"]), ("OLS", b_ols, COLORS["OLS"]),
                       ("IV (Wald)", b_iv, COLORS["IV (Wald)"])):
        a1.plot(grid, ym + b * (grid - xm), color=c, lw=2, label=f"{name}: slope {b:.3f}")
    y_lo, y_hi = np.quantile(smp.y, [0.001, 0.999])
    pad = 0.1 * (y_hi - y_lo + 1e-9)
    a1.set_ylim(y_lo - pad, y_hi + pad)  # a wild IV slope (weak instrument) leaves the frame instead of squashing it
    a1.set(xlabel="x (data, arbitrary units)", ylabel="y (label, arbitrary units)",
           title="One data set: y against x")
    a1.legend(fontsize=8)
    batch = scm.sample(n, seed + 1, reps=reps)
    est = {"OLS": ols_slope(batch.x, batch.y), "IV (Wald)": iv_wald(batch.r, batch.x, batch.y)}
    est = {name: v[np.isfinite(v)] for name, v in est.items()}
    if not any(len(v) for v in est.values()):
        a2.text(0.5, 0.5, "x does not vary (all its sources are 0):\nno slope to estimate", ha="center",
                transform=a2.transAxes)
        return
    limit = scm.w_xy + ols_bias_formula(scm)
    marks = [scm.w_xy] + ([limit] if np.isfinite(limit) else [])
    qs = [np.quantile(v, [0.03, 0.97]) for v in est.values() if len(v)]
    lo, hi = min([q[0] for q in qs] + marks), max([q[1] for q in qs] + marks)
    lo, hi = lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9)
    bins = np.linspace(lo, hi, 50)
    for name, v in est.items():
        a2.hist(np.clip(v, lo, hi), bins=bins, alpha=0.5, color=COLORS[name], label=f"{name} (median {np.median(v):.3f})")
    a2.axvline(scm.w_xy, color="black", lw=2, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    a2.axvline(scm.w_xy + ols_bias_formula(scm), color=COLORS["formula"], ls="--", lw=2,
               label=f"$w_{{xy}}$ + bias formula = {scm.w_xy + ols_bias_formula(scm):.3f}")
    a2.set(xlabel="estimated slope (values beyond the axis are piled at its edges)",
           ylabel=f"data sets (of {reps})", title=f"{reps} data sets of n = {n}")
    a2.legend(fontsize=8)


def plot_effect_ratios(ax: plt.Axes, scm: LinearSCM, n_units: int = 5, n_draws: int = 40, seed: int = 0,
                       nonlinearity: float = 1.0) -> plt.Axes:
    """Eq. 9 per draw: w_i = (Y[x_{r_i}] - Y[x]) / r_i against r_i for a few units, for the linear
    response (all on the line w_rx w_xy) and the tanh response (spread out)."""
    for response, marker, color in (("linear", "o", "#1f77b4"), ("tanh", "x", "#d62728")):
        r, w = effect_ratios(scm, n_units, n_draws, seed, response=response, nonlinearity=nonlinearity)
        label = "linear response $w_{xy}x$" if response == "linear" else \
            f"non-linear response $w_{{xy}}[(1-a)x + a\\,\\tanh x]$, a = {nonlinearity:g}"
        ax.scatter(r.ravel(), w.ravel(), marker=marker, s=18, alpha=0.7, color=color, label=label)
    ax.axhline(scm.w_rx * scm.w_xy, color="black", lw=1, ls="--", label=f"$w_{{rx}}w_{{xy}}$ = {scm.w_rx * scm.w_xy:g} (Eq. 9)")
    ax.set(xlabel="instrument draw $r_i$ (noise intensity, units of x)",
           ylabel=r"$w_i = (Y[x_{r_i}] - Y[x]) / r_i$",
           title=f"Eq. 9 for {n_units} units x {n_draws} noise draws")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    return ax


def plot_spread_vs_nonlinearity(ax: plt.Axes, df: pd.DataFrame) -> plt.Axes:
    """The spread of the w_i (Eq. 10, mean over pairs) against the response's non-linearity, for the
    scalar SCM (left axis) and the engine's L_causal on a tiny decoder (right axis)."""
    ax.plot(df.nonlinearity, df["SCM ratio spread"], "o-", color="#d62728", label="scalar SCM (left axis)")
    ax.set(xlabel="non-linearity a of the response (0 = linear, 1 = tanh)",
           ylabel="SCM: mean $|w_i - w_j|$ (units of y per unit r)", title="Spread of the effects (Eq. 10): 0 only when linear")
    twin = ax.twinx()
    twin.plot(df.nonlinearity, df["L_causal (tiny decoder)"], "s--", color="#9467bd",
              label="cibtools L_causal, tiny decoder (right axis)")
    twin.set_ylabel("L_causal (logits, mean over pairs)")
    twin.grid(False)
    lines = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=8, loc="upper left")
    ax.text(0.98, 0.04, "both exactly proportional to a:\nthe two lines coincide", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8, color="dimgray")
    return ax


def plot_causal_loss_table(ax: plt.Axes, table: pd.DataFrame, floor: float = 1e-17) -> plt.Axes:
    """L_causal of `causal_loss_table` as bars on a log scale (values below `floor` drawn at it)."""
    labels = [f"{d}\n{r}, {i}" for d, r, i in zip(table.decoder, table.response, table.instrument)]
    values = table.L_causal.clip(lower=floor)
    colors = ["#1f77b4" if d == "linear" else "#d62728" for d in table.decoder]
    ax.bar(range(len(table)), values, color=colors)
    for k, v in enumerate(table.L_causal):
        ax.text(k, max(v, floor) * 1.5, f"{v:.1e}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(floor / 10, table.L_causal.max() * 1e3)
    ax.set_xticks(range(len(table)), labels, fontsize=7, rotation=45, ha="right")
    ax.set(xlabel="decoder / CausalConfig response, instrument", ylabel="L_causal (mean over pairs, log scale)",
           title="cibtools.losses.causal_loss on a tiny decoder (~1e-15 is round-off: zero)")
    return ax


def interactive_ols_vs_iv(reps: int = 200, seed: int = 0, n_max: int = 20000):
    """An ipywidgets `interactive` with sliders for the SCM's parameters and n, redrawing `plot_ols_vs_iv`.
    Raises ImportError when ipywidgets is missing (the notebook then keeps its static figure)."""
    import ipywidgets as widgets

    fs = lambda v, lo, hi, d: widgets.FloatSlider(value=v, min=lo, max=hi, step=0.05, description=d,  # noqa: E731
                                                  continuous_update=False)
    base = LinearSCM()

    def draw(w_sx, w_sy, w_xy, w_rx, sigma_s, sigma_r, sigma_ux, sigma_uy, n):
        plot_ols_vs_iv(LinearSCM(w_sx, w_sy, w_xy, w_rx, sigma_s, sigma_r, sigma_ux, sigma_uy), n, reps, seed)
        plt.show()

    return widgets.interactive(
        draw, w_sx=fs(base.w_sx, -2, 2, "w_sx"), w_sy=fs(base.w_sy, -2, 2, "w_sy"), w_xy=fs(base.w_xy, -2, 2, "w_xy"),
        w_rx=fs(base.w_rx, 0, 2, "w_rx"), sigma_s=fs(base.sigma_s, 0, 2, "sigma_s"),
        sigma_r=fs(base.sigma_r, 0.05, 2, "sigma_r"), sigma_ux=fs(base.sigma_ux, 0, 2, "sigma_ux"),
        sigma_uy=fs(base.sigma_uy, 0, 2, "sigma_uy"),
        n=widgets.IntSlider(value=1000, min=50, max=n_max, step=50, description="n", continuous_update=False))


# ----------------------------------------------------------------------------- the notebook's figures

def causal_graph_figure(scm: LinearSCM) -> plt.Figure:
    """Figures 2 and 3 side by side, the second labelled with the path coefficients of `scm`."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    plot_causal_graph(axes[0], instrument=False)
    plot_causal_graph(axes[1], instrument=True, scm=scm)
    fig.tight_layout()
    return fig


def estimates_figure(summary: pd.DataFrame, vs_confounding: pd.DataFrame, scm: LinearSCM, n: int,
                     vary: str = "w_sy") -> plt.Figure:
    """Left: `plot_estimates_vs_n` of `summarise_estimates(estimates_vs_n(...))`; right:
    `plot_estimates_vs_confounding` of `estimates_vs_confounding(..., n=n)`, titled with n and its data sets."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    plot_estimates_vs_n(summary, scm, axes[0])
    plot_estimates_vs_confounding(vs_confounding, scm, axes[1], vary=vary)
    reps = int(vs_confounding.groupby(["strength", "estimator"]).size().max())
    axes[1].set_title(f"Estimates vs confounding strength (n = {n:,}, {reps} data sets each)")
    fig.tight_layout()
    return fig


def effect_ratio_figure(scm: LinearSCM, curve: pd.DataFrame, seed: int = 0) -> plt.Figure:
    """Left: `plot_effect_ratios` (Eq. 9 per draw); right: `plot_spread_vs_nonlinearity` of `curve`
    (`scm.causal_loss_vs_nonlinearity`)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    plot_effect_ratios(axes[0], scm, n_units=5, n_draws=40, seed=seed)
    plot_spread_vs_nonlinearity(axes[1], curve)
    fig.tight_layout()
    return fig


def causal_loss_figure(table: pd.DataFrame) -> plt.Figure:
    """`plot_causal_loss_table` of `scm.causal_loss_table()` on its own figure."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    plot_causal_loss_table(ax, table)
    fig.tight_layout()
    return fig
