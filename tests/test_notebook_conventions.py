"""Conventions every notebook keeps: the Colab address in one place, one install cell, exercises with
checkers in every lesson from 04 on, and one way to hold reference solutions."""
import ast
import re
import shutil

import nbformat
import pytest

from cibtools import paths, repository

BOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def test_badges_install_cells_and_readme_agree_with_the_configured_repository():
    assert repository.problems() == []


def test_set_repository_rewrites_every_place(tmp_path, monkeypatch):
    shutil.copytree(paths.REPO_ROOT / "notebooks", tmp_path / "notebooks")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(paths.REPO_ROOT / name, tmp_path / name)
    monkeypatch.setattr(repository, "PYPROJECT", tmp_path / "pyproject.toml")
    monkeypatch.setattr(repository, "README", tmp_path / "README.md")
    monkeypatch.setattr(repository, "NOTEBOOKS", tmp_path / "notebooks")
    changed = repository.set_repository("someone/causalib")
    assert {"README.md", "pyproject.toml"} <= set(changed) and len(changed) == len(BOOKS) + 2
    assert repository.set_repository("someone/causalib") == []  # nothing changes: no file is touched
    assert repository.configured() == "someone/causalib" and repository.problems() == []
    text = (tmp_path / "notebooks" / "05-robustness-tables.ipynb").read_text()
    assert "colab.research.google.com/github/someone/causalib/blob/main/notebooks/05-robustness-tables.ipynb" in text
    assert 'REPOSITORY = \\"someone/causalib\\"' in text
    with pytest.raises(ValueError, match="owner/name"):
        repository.set_repository("not a repo")
    (tmp_path / "notebooks" / "06-ablations.ipynb").write_text(
        (tmp_path / "notebooks" / "06-ablations.ipynb").read_text().replace("someone/causalib", "OWNER/causalib"))
    assert any("06-ablations" in p for p in repository.problems())


def _grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("book", [b for b in BOOKS if "01" <= b.name[:2] <= "11"], ids=lambda b: b.name[:2])
def test_lessons_01_to_10_end_with_checked_exercises(book):
    cells = _cells(book)
    start = next(i for i, c in enumerate(cells)
                 if c.cell_type == "markdown" and re.search(r"^## (\d+\. )?Exercises", c.source, re.M))
    rest = cells[start:]
    checked = [c for c in rest if c.cell_type == "code" and _grading(c).get("grade") and "exercises.check_" in c.source]
    assert 2 <= len(checked) <= 3, f"{book.name}: {len(checked)} checked exercises"
    assert any("Open question" in c.source for c in rest if c.cell_type == "markdown")


def _bound_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", []) + ([node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


_CHECK_CELL = re.compile(r"### BEGIN HIDDEN TESTS\n(exercises\.check_\w+\(.*\))\.require\(\)\n### END HIDDEN TESTS\n(.*)\Z")


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_one_convention_for_solutions(book):
    """nbgrader's: an answer cell holds its solution between `### BEGIN SOLUTION` and `### END SOLUTION`
    (cibtools.edition replaces it for the student edition), and the checker cell after it repeats the check
    as a hidden autograder test. No hidden cells, no `reference_*` copies."""
    ids = []
    for i, c in enumerate(_cells(book)):
        where = f"{book.name} cell {i}"
        assert not set(c.metadata.get("tags", [])) - {"parameters"}, f"unknown cell tag in {where}"
        assert not c.metadata.get("jupyter", {}).get("source_hidden"), f"{where} is hidden: JupyterLab shows its first line"
        marks = c.source.count("### BEGIN SOLUTION"), c.source.count("### END SOLUTION")
        grading = _grading(c)
        if grading:
            ids.append(grading["grade_id"])
        if c.cell_type == "code":
            assert not any(n.startswith("reference_") for n in _bound_names(c.source)), where
        if grading.get("solution") and c.cell_type == "code":
            assert marks == (1, 1), f"{where}: an answer cell needs one solution region"
            outside = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "pass", c.source, flags=re.S)
            answers = {n for n in _bound_names(outside) if n.startswith("my_") or n == "valid_instrument"}
            assert answers, f"{where}: the answer cell names no my_* answer outside its solution"
            assert not grading.get("grade") and not grading.get("locked"), where
        elif grading.get("grade") and c.cell_type == "code":
            match = _CHECK_CELL.match(c.source)
            assert match and match.group(1) == match.group(2), f"{where}: a checker cell is `<hidden test>` + the check"
            assert grading.get("locked") and grading.get("points", 0) > 0, where
        else:
            assert marks == (0, 0) or grading.get("solution"), f"{where}: a solution region outside an answer cell"
    assert len(ids) == len(set(ids)), f"{book.name}: repeated nbgrader grade ids"


LESSON_FUNCTIONS = {"fgsm_from_scratch", "pgd_from_scratch"}  # 03 writes the attacks out, on purpose
MAX_CELL_LINES = 20  # the "about 20"; the longest cells today set up a lesson or build a table


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_notebooks_call_named_functions(book):
    """Engine code lives in cibtools: a notebook defines only exercise answers (`my_*`, `reference_*`) and
    03's written-out attacks, and no code cell is longer than about 20 lines."""
    for i, cell in enumerate(_cells(book)):
        if cell.cell_type != "code":
            continue
        defined = {n.name for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        extra = {n for n in defined if not n.startswith(("my_", "reference_"))} - LESSON_FUNCTIONS
        assert not extra, f"{book.name} cell {i} defines {sorted(extra)}: move it into cibtools"
        lines = len(cell.source.strip().splitlines())
        assert lines <= MAX_CELL_LINES, f"{book.name} cell {i} has {lines} lines (at most {MAX_CELL_LINES})"
