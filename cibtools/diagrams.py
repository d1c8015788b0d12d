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


def linf_ball_figure(eps: float) -> plt.Figure:
    """Notebook 03: the L-inf ball of radius `eps` around an image, seen in two of its pixels (in grey levels,
    0-255): the valid images [0, 1]^2, the ball, the set a budget allows (both at once), and one PGD iterate
    that left it, brought back by the projection `attacks._project` (clip to the ball, then to [0, 1])."""
    import torch
    from matplotlib.patches import Rectangle

    from .attacks import _project, check_eps

    check_eps(eps)
    x = torch.tensor([[235.0, 90.0]]) / 255  # a bright pixel and a dark one
    outside = x + torch.tensor([[1.5, 1.3]]) * eps  # an iterate after a step that left the ball
    back = _project(outside, x, eps, "linf")
    (x0, y0), (x1, y1), (x2, y2) = (255 * v[0].numpy() for v in (x, outside, back))
    e = 255 * eps
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    ax.add_patch(Rectangle((0, 0), 255, 255, fc="#f2f2f2", ec="black", lw=1.2, label="valid images: $[0, 1]^2$"))
    ax.add_patch(Rectangle((x0 - e, y0 - e), 2 * e, 2 * e, fc="none", ec="#1f77b4", lw=1.5, ls="--",
                           label=rf"$L_\infty$ ball: $|x'_i - x_i| \leq \epsilon$ for every pixel"))
    lo_x, hi_x, lo_y, hi_y = max(x0 - e, 0), min(x0 + e, 255), max(y0 - e, 0), min(y0 + e, 255)
    ax.add_patch(Rectangle((lo_x, lo_y), hi_x - lo_x, hi_y - lo_y, fc="#1f77b4", alpha=0.25, ec="none",
                           label="what the budget allows (both at once)"))
    ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="-|>", color="#d62728", lw=1.3, ls="--"))
    ax.annotate("", (x2, y2), (x1, y1), arrowprops=dict(arrowstyle="-|>", color="#2ca02c", lw=1.6))
    ax.plot([x0], [y0], "ko", ms=7, label="clean image $x$")
    ax.plot([x1], [y1], "x", color="#d62728", ms=9, mew=2, label=r"after a step $x^t + \alpha\,\mathrm{sign}\,\nabla$")
    ax.plot([x2], [y2], "o", color="#2ca02c", ms=7, label=r"projected: clip to $x \pm \epsilon$, then to $[0, 1]$")
    ax.annotate("", (x0 - e, y0 - e - 12), (x0, y0 - e - 12), arrowprops=dict(arrowstyle="<->", lw=1))
    ax.text(x0 - e / 2, y0 - e - 20, rf"$\epsilon$ = {e:.0f}/255", ha="center", va="top", fontsize=9)
    ax.set(xlim=(-25, 330), ylim=(-25, 330), aspect="equal", xlabel="pixel 1 (grey level: 0 black, 255 white)",
           ylabel="pixel 2 (grey level)", xticks=[0, 64, 128, 192, 255], yticks=[0, 64, 128, 192, 255])
    ax.legend(fontsize=7.5, loc="upper left", framealpha=0.95)
    ax.set_title(f"The budget in two of the 784 pixels: the $L_\\infty$ ball of radius {e:.0f}/255\n"
                 "around $x$, cut by $[0, 1]$ where it pokes outside", fontsize=10)
    return fig
