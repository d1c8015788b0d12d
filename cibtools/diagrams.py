"""The static diagrams of the lessons, drawn with matplotlib: one job, the pictures that are not plots of
results. Notebook 00 draws the paper's Figure 1 with one call, `pipeline_figure()`, so the picture appears
wherever the notebook runs (JupyterLab, Colab, the rendered site) without a file to find; the runner
publishes it as `figures/00_pipeline.png` like every other figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from . import plotting  # noqa: F401  (the project's matplotlib style and resolution)

COLORS = {"data": "#e8e8e8", "net": "#cfe2f3", "ib": "#fce5cd", "causal": "#f4cccc", "loss": "#d9ead3"}


def pipeline_figure() -> plt.Figure:
    """The paper's Figure 1, redrawn: the IB module and the causal inference module in the bottleneck."""
    fig, ax = plt.subplots(figsize=(13, 7))
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 7)
    ax.axis("off")

    def box(x, y, w, h, text, kind, size=10):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=COLORS[kind], ec="black", lw=1.1, zorder=2))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, zorder=3)

    def arrow(start, end, ls="-", color="black"):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.2, ls=ls,
                                     color=color, zorder=1))

    def frame(x, y, w, h, label, label_x, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.2", fc="none",
                                    ec=color, lw=1.6, ls="--", zorder=0))
        ax.text(label_x, y + h + 0.06, label, ha="left", va="bottom", fontsize=10.5, color=color, weight="bold")



    # main path (top row): X -> encoder -> (mu, sigma) -> z -> decoder -> Y_hat, CE
    box(0.2, 4.7, 1.3, 0.9, "input $X$\n(image)", "data")
    box(2.0, 4.7, 1.6, 0.9, "encoder\n(MLP / AlexNet)", "net")
    box(4.25, 4.7, 1.55, 0.9, r"$\mu(x),\ \sigma(x)$", "ib", 11)
    box(6.3, 4.7, 2.05, 0.9, r"$z = \mu + \sigma \odot \epsilon$" "\n" r"$\epsilon \sim \mathcal{N}(0, I)$", "ib")
    box(8.85, 4.7, 1.5, 0.9, r"decoder" "\n" r"$q(y \mid z)$", "net")
    box(10.85, 4.7, 1.95, 0.9, r"$\hat{Y}$: cross-entropy" "\n" r"$\mathrm{CE}(\hat{Y}, y)$", "loss")
    for x0, x1 in [(1.5, 2.0), (3.6, 4.25), (5.8, 6.3), (8.35, 8.85), (10.35, 10.85)]:
        arrow((x0, 5.15), (x1, 5.15))
    # IB module: sampling and the KL term
    box(5.15, 3.4, 2.3, 0.75, r"$\mathrm{KL}[\mathcal{N}(\mu, \sigma^2) \,\|\, \mathcal{N}(0, I)]$", "ib")
    arrow((5.1, 4.7), (5.6, 4.15))
    frame(4.05, 3.2, 4.5, 2.65, "IB module", 4.1, "#b45f06")

    # causal inference module (bottom row): instruments at the bottleneck -> decoder -> w_i -> L_causal
    box(4.25, 0.6, 1.95, 0.95, "instruments $r_i$\n(additive noise,\n$i = 1..n$)", "causal", 9.5)
    box(6.6, 0.6, 1.75, 0.95, r"$\mu + r_i \;\to\; Y_i$" "\n" r"$\mu \;\to\; Y_0$", "causal", 10.5)
    box(8.85, 0.6, 1.5, 0.95, "decoder\n(same weights)", "net")
    box(10.85, 0.6, 1.95, 0.95, r"$w_i = \dfrac{Y_i - Y_0}{|r_i|}$", "causal", 11)
    for x0, x1 in [(6.2, 6.6), (8.35, 8.85), (10.35, 10.85)]:
        arrow((x0, 1.075), (x1, 1.075))
    box(10.85, 1.8, 1.95, 0.75, r"$\mathcal{L}_{causal} = \sum_{i \neq j} \|w_i - w_j\|_1$", "causal", 9.5)
    arrow((11.825, 1.55), (11.825, 1.8))
    arrow((4.6, 4.7), (4.6, 1.55), ls="--", color="#990000")  # the code's statistics feed the interventions
    ax.text(4.5, 2.95, r"$\mu, \sigma$", ha="right", va="center", fontsize=11, color="#990000")
    frame(4.05, 0.4, 8.9, 2.35, "causal inference module", 4.75, "#990000")

    # the total objective
    box(0.2, 1.5, 3.4, 1.3, r"$\mathcal{L}_{CausalIB} = \mathrm{CE}$" "\n"
        r"$+\ \alpha\,\mathrm{KL} + \beta\,\mathcal{L}_{causal}$" "\n(Eq. 11)", "loss", 11)
    ax.text(0.2, 0.95, r"CE bounds $-I(Z;Y)$ (Eq. 2)" "\n" r"KL bounds $I(Z;X)$ (Eq. 3)", fontsize=9,
            color="#444444", va="center")
    ax.set_title("CausalIB (the paper's Figure 1, redrawn): an IB module and a causal inference module "
                 "in the bottleneck", fontsize=12)
    return fig

