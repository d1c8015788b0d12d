"""Figures of the result tables: one style, the figures laid out from tables (Table 1 beside the paper,
the ablation grid, Fig. 4, the paper-settings sweep with AutoAttack), and saving to the profile's figures
folder. Every bar carries its value, so a zero bar reads "0.0" instead of looking missing."""
from __future__ import annotations

import os

import matplotlib.pyplot as plt

from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch

from .config import METHOD_LABELS, PAPER_EPS
from .paths import output_dir

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 10})
METHOD_COLORS = {
    "baseline": "#7f7f7f", "mixup": "#bcbd22", "rs": "#17becf", "ciiv": "#9467bd", "vib": "#1f77b4",
    "causalib": "#d62728", "at_fgsm": "#ff7f0e", "at_pgd": "#2ca02c",
}


def save_figure(fig: plt.Figure, name: str, profile: str) -> None:
    """Save `fig` as `<name>.png` in the figures folder of `profile` (`paths.output_dir`). Returns nothing, so a
    figure cell that ends with this call shows the figure and no return value above it."""
    fig.savefig(output_dir("figures", profile) / f"{name}.png", bbox_inches="tight")


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


def label_bars(ax, bars, values, fmt: str = "{:.1f}", fontsize: float = 7, rotation: float = 90) -> None:
    """Write each bar's value above it (a zero bar reads "0.0"; a missing value writes nothing)."""
    for bar, v in zip(bars, values):
        if v is None or v != v:  # NaN: no bar to label
            continue
        ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=fontsize, rotation=rotation)


def beside_paper_figure(joined, attack: str = "PGD-20", ours_label: str = "ours"):
    """Table 1's `attack` column as bars, one panel per dataset of `joined` (`reporting.beside_paper` of
    `summarise_seeds`): ours (one colour per method, +- std over seeds) beside the paper's (hatched), every bar
    labelled with its value. VIB and CausalIB rows name their prediction mode."""
    sub_all = joined[joined["attack"] == attack]
    datasets = list(dict.fromkeys(sub_all["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.2), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        sub = sub_all[sub_all["dataset"] == d].reset_index(drop=True)
        labels = [f"{METHOD_LABELS[m]}\n({'sample' if mode.startswith('sample') else mode})" if m in ("vib", "causalib")
                  else METHOD_LABELS[m] for m, mode in zip(sub["method"], sub["mode"])]
        x = list(range(len(sub)))
        colors = [METHOD_COLORS[m] for m in sub["method"]]
        ours = ax.bar([i - 0.2 for i in x], sub["ours_mean"], 0.4, yerr=sub["ours_std"].fillna(0), color=colors,
                      error_kw={"lw": 0.8, "capsize": 2})
        theirs = ax.bar([i + 0.2 for i in x], sub["paper_mean"], 0.4, color="white", edgecolor="black", hatch="//")
        label_bars(ax, ours, sub["ours_mean"])
        label_bars(ax, theirs, sub["paper_mean"])
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
        eps = PAPER_EPS.get(d)
        ax.set(title=f"{d}: {attack}" + (f" at eps = {round(eps * 255)}/255" if eps else ""), ylabel="accuracy (%)",
               ylim=(0, 110))
        swatches = tuple(Patch(color=c) for c in dict.fromkeys(colors))  # the legend shows every colour of the bars
        ax.legend([swatches, Patch(facecolor="white", edgecolor="black", hatch="//")],
                  [f"{ours_label}, colour by method", "paper"], handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
                  fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def ablation_heatmap_figure(ours_grid, paper_grid, ours_label: str = "ours", attack: str = "PGD-20",
                            dataset: str = "MNIST", eps_255: int = 50):
    """The alpha x beta grids of `ablation.grids`: ours (left) and the paper's (right, blank where it reports no
    value), each cell annotated. A grid whose every value rounds to 0.0 says so in its title, so an all-dark
    panel cannot be read as a drawing error."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.1))
    for ax, data, name in zip(axes, (ours_grid, paper_grid), (ours_label, "paper")):
        values = data.astype(float)
        sns.heatmap(values, annot=True, fmt=".1f", vmin=0, vmax=100, cmap="viridis", ax=ax,
                    cbar_kws={"label": f"{attack} accuracy (%)"})
        title = f"{name}: {dataset}, {attack} at eps = {eps_255}/255"
        shown = values.stack().dropna()
        if len(shown) and (shown.round(1) == 0).all():
            title += f"\nevery cell is 0.0%: no setting of this grid resists {attack}"
        ax.set(title=title, xlabel="beta (causal weight)", ylabel="alpha (IB weight)")
        ax.grid(False)
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


VARIANT_STYLES = {"ours": "-", "authors": ":", "alemi": "-."}


def _variant_label(method: str, variant: str) -> str:
    from .verdict import VARIANT_LABELS, WITHOUT

    extra = VARIANT_LABELS.get(variant)
    if extra is None:
        extra = f" (authors', {WITHOUT[variant]})" if variant in WITHOUT else f" ({variant})"
    return METHOD_LABELS.get(method, method) + extra


def _autoattack_points(strong):
    """The AutoAttack rows of `strong` (`paper_settings.run_strong`), one per shard and eps, each on the most
    images it ran on."""
    aa = strong[strong["kind"] == "autoattack"]
    return aa.sort_values("n", kind="stable").drop_duplicates(["shard", "eps_255"], keep="last")


def _value_labels(ax, xs, ys, colors, gap: float = 5.5) -> None:
    """Each point's value beside it, on the side no line leaves from: to its left (the lines to larger budgets
    leave to the right), at the largest budget to its right; moved up where labels at the same x would overlap."""
    points = sorted(zip(xs, ys, colors), key=lambda p: (p[0], p[1]))
    right = max(xs)
    last = {}
    for x, y, c in points:
        at = max(y, last.get(x, -1e9) + gap)
        last[x] = at
        side = 1.5 if x == right else -1.5
        ax.annotate(f"{y:.1f}", (x, y), xytext=(x + side, at), textcoords="data", fontsize=7, va="center",
                    ha="left" if side > 0 else "right", color=c)


def paper_settings_figure(table, strong=None, eps_255=(8, 16, 50)):
    """Accuracy against eps at the paper's settings, one row of panels per dataset: FGSM and PGD-20 (mean +- sd
    over seeds of `verdict.paper_settings_table`, mean or deterministic prediction, the paper's mean +- sd at 50/255
    as open squares) and, beside them, AutoAttack for every model that `strong` (`paper_settings.run_strong` rows)
    has AutoAttack rows for, each point labelled with its value. Colour: method; line style: model variant."""
    datasets = list(dict.fromkeys(table["dataset"]))
    aa = _autoattack_points(strong) if strong is not None and len(strong) else None
    fig, axes = plt.subplots(len(datasets), 3, figsize=(16, 3.9 * len(datasets)), squeeze=False, sharey=True)
    for row, d in zip(axes, datasets):
        for ax, attack in zip(row, ["FGSM", "PGD-20"]):
            sub = table[(table["dataset"] == d) & (table["attack"] == attack) & (table["mode"] != "sample")]
            drawn = set()  # the paper's square once per method
            for (m, variant), g in sub.groupby(["method", "variant"], sort=False):
                g = g.sort_values("eps_255")
                ax.errorbar(g["eps_255"], g["ours_mean"], yerr=g["ours_sd"].fillna(0), fmt="o",
                            ls=VARIANT_STYLES.get(variant, "--"), capsize=3, color=METHOD_COLORS.get(m, "k"),
                            label=_variant_label(m, variant), alpha=0.9)
                paper_row = g[g["eps_255"] == 50].dropna(subset=["paper_mean"])
                if len(paper_row) and m not in drawn:
                    drawn.add(m)
                    ax.errorbar([52], paper_row["paper_mean"].iloc[:1], yerr=paper_row["paper_sd"].iloc[:1], fmt="s",
                                mfc="white", capsize=3, color=METHOD_COLORS.get(m, "k"))
            ax.set(xlabel="eps (x 1/255)", xticks=list(eps_255), ylim=(-2, 102))
            ax.set_title(f"{d}: {attack}\n(mean +- sd over seeds; open squares: the paper)", fontsize=9.5)
        ax = row[2]
        mine = aa[aa["dataset"] == d] if aa is not None else None
        if mine is None or mine.empty:
            ax.text(0.5, 0.5, "no AutoAttack rows for this dataset", ha="center", va="center", transform=ax.transAxes)
        else:
            for (shard, m, variant), g in mine.groupby(["shard", "method", "variant"], sort=False):
                g = g.sort_values("eps_255")
                ax.plot(g["eps_255"], g["accuracy"], marker="D", ls=VARIANT_STYLES.get(variant, "--"),
                        color=METHOD_COLORS.get(m, "k"), label=_variant_label(m, variant))
            _value_labels(ax, mine["eps_255"], mine["accuracy"], [METHOD_COLORS.get(m, "k") for m in mine["method"]])
            counts = " or ".join(f"{n:,}" for n in sorted(set(mine["n"].astype(int))))
            ax.set_title(f"{d}: AutoAttack\n(seed 0, first {counts} test images)", fontsize=9.5)
        ax.set(xlabel="eps (x 1/255)", xticks=list(eps_255), xlim=(eps_255[0] - 3, eps_255[-1] + 8), ylim=(-2, 102))
        row[0].set_ylabel("accuracy (%)")
        handles, names = {}, []
        for a in row:
            for h, n in zip(*a.get_legend_handles_labels()):
                if n not in handles:
                    handles[n] = h
                    names.append(n)
        row[2].legend([handles[n] for n in names], names, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("The paper's settings (50 epochs, mean prediction): where AutoAttack (right) leaves about 0%, "
                 "the accuracy that FGSM and PGD-20 leave is what they fail to find, not robustness", fontsize=10)
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
