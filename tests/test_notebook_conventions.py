"""Conventions every notebook keeps: the Colab address in one place, one install cell, exercises with
checkers in every lesson from 03 on, and one way to hold reference solutions."""
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
    assert "README.md" in changed and len(changed) == len(BOOKS) + 1
    assert repository.configured() == "someone/causalib" and repository.problems() == []
    text = (tmp_path / "notebooks" / "04-robustness-tables.ipynb").read_text()
    assert "colab.research.google.com/github/someone/causalib/blob/main/notebooks/04-robustness-tables.ipynb" in text
    assert 'REPOSITORY = \\"someone/causalib\\"' in text
    with pytest.raises(ValueError, match="owner/name"):
        repository.set_repository("not a repo")
    (tmp_path / "notebooks" / "05-ablations.ipynb").write_text(
        (tmp_path / "notebooks" / "05-ablations.ipynb").read_text().replace("someone/causalib", "OWNER/causalib"))
    assert any("05-ablations" in p for p in repository.problems())


@pytest.mark.parametrize("book", [b for b in BOOKS if "01" <= b.name[:2] <= "08"], ids=lambda b: b.name[:2])
def test_lessons_01_to_08_end_with_checked_exercises(book):
    cells = _cells(book)
    start = next(i for i, c in enumerate(cells)
                 if c.cell_type == "markdown" and re.search(r"^## (\d+\. )?Exercises", c.source, re.M))
    rest = cells[start:]
    checked = [c for c in rest if c.cell_type == "code" and "exercises.check_" in c.source
               and "solution" not in c.metadata.get("tags", [])]
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


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_one_convention_for_solutions(book):
    cells = _cells(book)
    students = set()
    for c in cells:
        tags = c.metadata.get("tags", [])
        assert not set(tags) - {"parameters", "solution"}, f"unknown cell tag in {book.name}: {tags}"
        if c.cell_type == "code" and "solution" not in tags:
            students |= _bound_names(c.source)
    for c in cells:
        if "solution" in c.metadata.get("tags", []):
            assert c.metadata.get("jupyter", {}).get("source_hidden") is True, "solution cells are hidden"
            bound = _bound_names(c.source)
            assert any(n.startswith("reference_") for n in bound), c.source[:80]
            clobbered = {n for n in bound & students if not n.startswith("reference_")}
            assert not clobbered, f"a solution cell in {book.name} overwrites the student's {sorted(clobbered)}"


LESSON_FUNCTIONS = {"fgsm_from_scratch", "pgd_from_scratch"}  # 06 writes the attacks out, on purpose
MAX_CELL_LINES = 20  # the "about 20"; the longest cells today set up a lesson or build a table


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_notebooks_call_named_functions(book):
    """Engine code lives in cibtools: a notebook defines only exercise answers (`my_*`, `reference_*`) and
    06's written-out attacks, and no code cell is longer than about 20 lines."""
    for i, cell in enumerate(_cells(book)):
        if cell.cell_type != "code":
            continue
        defined = {n.name for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        extra = {n for n in defined if not n.startswith(("my_", "reference_"))} - LESSON_FUNCTIONS
        assert not extra, f"{book.name} cell {i} defines {sorted(extra)}: move it into cibtools"
        lines = len(cell.source.strip().splitlines())
        assert lines <= MAX_CELL_LINES, f"{book.name} cell {i} has {lines} lines (at most {MAX_CELL_LINES})"
