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


def test_linf_ball_diagram_projects_the_step_back_into_the_ball_and_the_box():
    fig = diagrams.linf_ball_figure(50 / 255)
    ax = fig.axes[0]
    assert "50/255" in ax.get_title() and any("projected" in t.get_text() for t in ax.get_legend().get_texts())
    clean, outside, back = (line.get_xydata()[0] for line in ax.get_lines())
    e = 50.0
    assert not (abs(outside - clean) <= e + 1e-6).all()  # the step left the ball ...
    assert (abs(back - clean) <= e + 1e-4).all() and (0 <= back).all() and (back <= 255 + 1e-4).all()  # ... is back
    with pytest.raises(ValueError, match="eps"):
        diagrams.linf_ball_figure(2.0)


def test_primer_checkers_accept_the_answer_name_the_slips_and_wait_for_an_answer():
    import torch
    import torch.nn.functional as F

    from cibtools import exercises

    def targeted(model, x, target, eps, sign=-1.0, clip=True):
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), target).backward()
        out = x + sign * eps * x.grad.sign()
        return (out.clamp(0, 1) if clip else out).detach()

    def empty(model, x, target, eps):
        """not written yet"""

    assert exercises.check_targeted_fgsm(targeted)
    assert "less* likely" in repr(exercises.check_targeted_fgsm(lambda *a: targeted(*a, sign=1.0)))
    assert "leave [0, 1]" in repr(exercises.check_targeted_fgsm(lambda *a: targeted(*a, clip=False)))
    assert repr(exercises.check_targeted_fgsm(empty)).startswith("Not answered yet")
    assert exercises.check_forward_passes(20 * 4 * 16) and not exercises.check_forward_passes(20 * 4)
    assert repr(exercises.check_forward_passes(...)).startswith("Not answered yet")
    assert "EOT" in repr(exercises.check_forward_passes(20 * 16))
    assert str(20 * 4 * 16) not in repr(exercises.check_forward_passes(20 * 4))  # a hint never gives the count
