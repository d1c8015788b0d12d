"""The small helpers lessons call instead of carrying code: the one-call opening (`lesson.start`), the
profiles table of notebook 00, the pipeline diagram (`diagrams`), and the line that says a smoke run's numbers
are not results."""
import matplotlib
import pytest

matplotlib.use("Agg")

from cibtools import diagrams, lesson, profiles  # noqa: E402


def test_lesson_start_gives_settings_device_seed_and_the_limited_test_set(capsys):
    L = lesson.start("smoke", "mnist", limit="test_limit")
    assert L.settings.name == "smoke" and L.seed == L.settings.seeds[0]
    assert len(L.test) == L.settings.test_limit and L.test.images.device.type == L.device.type
    out = capsys.readouterr().out
    assert "test images n=200" in out and out.count("are not results") == 1
    with pytest.raises(ValueError, match="attack_limit"):
        lesson.start("smoke", "mnist", limit="epochs")
    with pytest.raises(ValueError, match="Valid profiles"):
        lesson.start("", "mnist")


def test_profiles_table_is_read_from_the_profiles():
    t = profiles.table()
    assert list(t.columns) == list(profiles.PROFILES)
    assert t.loc["epochs", "paper"] == 50 and t.loc["test_limit", "paper"] == "all"
    assert t.loc["seeds", "paper"] == "0, 1, 2" and "extra" not in t.index


def test_pipeline_diagram_draws_both_modules():
    fig = diagrams.pipeline_figure()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "IB module" in texts and "causal inference module" in texts and "decoder" in texts


def test_only_a_smoke_run_says_its_numbers_are_not_results(capsys):
    import cibtools

    assert cibtools.settings("smoke").name == "smoke"
    line = capsys.readouterr().out.strip()
    assert "not results" in line and "\n" not in line and "1000 training images" in line
    assert cibtools.settings("quick").epochs == 4 and capsys.readouterr().out == ""
    assert cibtools.settings is lesson.settings  # the one function every notebook opens with


def test_ablation_tables_match_the_papers_cells():
    import pandas as pd
    from cibtools import ablation

    ours = pd.DataFrame([
        {"setting": "L1", "causal_norm": "l1", "clean": 98.0, "FGSM": 1.0, "PGD-20": 0.5},
        {"setting": "L2", "causal_norm": "l2", "clean": 97.0, "FGSM": 2.0, "PGD-20": 0.25},
        {"setting": "alpha=0.05/beta=0.05", "alpha": 0.05, "beta": 0.05, "clean": 96.0, "FGSM": 3.0, "PGD-20": 1.0},
        {"setting": "alpha=0.05/beta=0.3", "alpha": 0.05, "beta": 0.3, "clean": 95.0, "FGSM": 4.0, "PGD-20": 2.0},
    ])
    table = ablation.beside_paper(ours)
    assert table.loc[0, "paper PGD-20"] == 53.71 and table.loc[1, "paper PGD-20"] == 45.62
    assert abs(table.loc[2, "diff FGSM"] - (3.0 - 81.07)) < 1e-9
    assert pd.isna(table.loc[3, "paper clean"])  # the paper has no (0.05, 0.3) cell
    mine, theirs = ablation.grids(ours, "PGD-20")
    assert mine.loc[0.05, 0.3] == 2.0 and theirs.loc[0.05, 0.05] == 53.71 and pd.isna(theirs.loc[0.05, 0.3])
