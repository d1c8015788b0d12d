"""The result figures say what they show: bars carry their values (a zero bar reads 0.0) and the legend
shows the bars' colours; an all-zero grid says so in its title; notebook 11's figure has an AutoAttack panel
with every model that has AutoAttack rows; save_figure returns nothing, so it prints nothing above a figure."""
import matplotlib
import pandas as pd

matplotlib.use("Agg")

from cibtools import plotting, verdict  # noqa: E402


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_every_bar_is_labelled_and_the_legend_shows_the_bars_colours():
    joined = pd.DataFrame([
        {"dataset": "mnist", "method": m, "mode": mode, "attack": "PGD-20", "ours_mean": ours, "ours_std": 0.0,
         "paper_mean": paper}
        for m, mode, ours, paper in [("baseline", "deterministic", 0.0, 0.0), ("vib", "mean", 0.0, 41.84),
                                     ("at_pgd", "deterministic", 56.38, 69.84)]])
    fig = plotting.beside_paper_figure(joined, "PGD-20", "ours (quick)")
    texts = _texts(fig)
    assert texts.count("0.0") == 3 and "41.8" in texts and "56.4" in texts and "69.8" in texts
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["ours (quick), colour by method", "paper"]
    colours = {tuple(p.get_facecolor()) for p in fig.axes[0].patches[:3]}
    assert len(legend.legend_handles) == 2 and len(colours) == 3  # one swatch per method colour, drawn as a tuple


def test_an_all_zero_grid_says_so_and_another_does_not():
    zero = pd.DataFrame([[0.0, 0.0], [0.0, 0.001]], index=[0.0, 0.05], columns=[0.0, 0.05])
    paper = pd.DataFrame([[0.0, 16.88], [38.98, 53.71]], index=[0.0, 0.05], columns=[0.0, 0.05])
    fig = plotting.ablation_heatmap_figure(zero, paper, "ours (quick)")
    assert "every cell is 0.0%" in fig.axes[0].get_title() and "every cell" not in fig.axes[2].get_title()


def test_notebook_10s_figure_shows_autoattack_for_every_model_with_rows():
    table = pd.DataFrame([
        {"dataset": "mnist", "method": m, "variant": v, "mode": "mean", "attack": a, "eps_255": e,
         "ours_mean": acc, "ours_sd": float("nan"), "paper_mean": float("nan"), "paper_sd": float("nan")}
        for m, v, acc in [("vib", "authors", 60.0), ("vib", "ours", 5.0)] for a in ("FGSM", "PGD-20")
        for e in (8, 16, 50)])
    strong = pd.DataFrame([
        {"shard": s, "method": "vib", "variant": v, "dataset": "mnist", "seed": 0, "kind": k, "attack": a,
         "eps_255": e, "accuracy": acc, "n": n}
        for s, v, k, a, e, acc, n in [
            ("vib-authors-mnist-s0", "authors", "autoattack", "AA-LINF", 50.0, 0.0, 1000),
            ("vib-authors-mnist-s0", "authors", "autoattack", "AA-LINF", 50.0, 0.02, 10000),
            ("vib-authors-mnist-s0", "authors", "autoattack", "AA-LINF", 16.0, 69.2, 1000),
            ("vib-authors_unit_input-mnist-s0", "authors_unit_input", "autoattack", "AA-LINF", 16.0, 16.1, 1000),
            ("vib-authors-mnist-s0", "authors", "cw", "CW-20", 50.0, 26.1, 10000)]])
    fig = plotting.paper_settings_figure(table, strong)
    aa = fig.axes[2]
    assert "AutoAttack" in aa.get_title() and "1,000 or 10,000" in aa.get_title()
    labels = aa.get_legend_handles_labels()[1]
    assert labels == ["VIB (authors' model)", f"VIB (authors', {verdict.WITHOUT['authors_unit_input']})"]
    assert {"0.0", "69.2", "16.1"} <= set(t.get_text() for t in aa.texts)  # 0.02 on 10,000 images, not 0.0 on 1,000
    assert "26.1" not in [t.get_text() for t in aa.texts]  # only AutoAttack in that panel
    empty = plotting.paper_settings_figure(table, strong.iloc[:0])
    assert "no AutoAttack rows" in " ".join(t.get_text() for t in empty.axes[2].texts)


def test_save_figure_writes_and_returns_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CIB_FIGURES_DIR", str(tmp_path))
    fig = plotting.ablation_heatmap_figure(pd.DataFrame([[1.0]]), pd.DataFrame([[2.0]]))
    assert plotting.save_figure(fig, "06_x", "smoke") is None and (tmp_path / "06_x.png").stat().st_size > 1000
