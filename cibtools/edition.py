"""The student edition of the notebooks, one job: writing it from the instructor notebooks with nbgrader.

The repository keeps the instructor notebooks: each exercise is an answer cell whose solution sits between
`### BEGIN SOLUTION` and `### END SOLUTION`, then a checker cell whose autograder test sits between
`### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` (nbgrader's markers). `make student`
(`python -m cibtools.edition student/`) runs `nbgrader generate_assignment` on a copy of them in a scratch
course folder and writes the release to `student/notebooks/`: solutions replaced by `CODE_STUB` (so an
unanswered exercise still runs and its checker says "not answered yet"), written answers by `TEXT_STUB`,
hidden tests and outputs removed, checker cells locked. Every student notebook is then checked for what must
not be left (`leaks`), and the edition is refused, not written, when any is.

A course that grades with nbgrader uses the same markers in its own course folder (TEACHING.md says how),
with the stubs of `nbgrader_config()`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from .paths import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
ASSIGNMENT = "causalib"
# No `raise NotImplementedError()` (nbgrader's default): an unanswered exercise must run, so Run All reaches
# every checker, which then says "not answered yet".
CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"
# Files beside the notebooks that the notebooks show (00's diagram is `../figures/00_pipeline.png`).
SHOWN_FILES = ("figures/00_pipeline.png",)
_LEFT_BEHIND = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|\.require\(\)|"
                          r"\breference_\w+|[Rr]eference solution")


def nbgrader_config(root: Path):
    """The nbgrader configuration: a course folder at `root`, its gradebook inside, this collection's stubs."""
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    c.GenerateAssignment.force = True
    return c


def leaks(path: Path) -> list[str]:
    """What of the instructor edition a student notebook still holds: markers, reference names, outputs,
    solution cells whose source was not replaced. Empty when the notebook is fit to hand out."""
    import nbformat

    found = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        match = _LEFT_BEHIND.search(cell.source)
        if match:
            found.append(f"{path.name} cell {i}: {match.group(0)!r} is left in the source")
        if cell.get("outputs"):
            found.append(f"{path.name} cell {i} has outputs")
        if "solution" in cell.metadata.get("tags", []) or cell.metadata.get("jupyter", {}).get("source_hidden"):
            found.append(f"{path.name} cell {i} is a hidden cell")
    return found


@contextlib.contextmanager
def _tools_on_path():
    """nbgrader runs its gradebook migrations with the `alembic` command, which sits beside this interpreter
    (a venv's bin/, not on PATH unless the venv is activated)."""
    before = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), before])
    try:
        yield
    finally:
        os.environ["PATH"] = before


def write_student_edition(target: Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Generate the student edition of `notebooks` (default: every `NN-*.ipynb`) into `target`/notebooks.

    Raises RuntimeError naming what is wrong when nbgrader is not installed, when it rejects a notebook
    (a solution region outside an answer cell, an unclosed marker, a repeated grade id), or when a generated
    notebook still holds a solution; `target` is then left as it was.
    """
    try:
        from nbgrader.apps import NbGraderAPI
    except ImportError as error:
        raise RuntimeError("the student edition needs nbgrader: pip install -e '.[instructor]' "
                           "(make student installs it)") from error
    books = sorted(notebooks or NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if not books:
        raise RuntimeError(f"no notebooks to release in {NOTEBOOKS}")
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="cib-course-") as tmp:
        root = Path(tmp)
        source = root / "source" / ASSIGNMENT
        source.mkdir(parents=True)
        for book in books:
            shutil.copy2(book, source / book.name)
        with _tools_on_path():
            result = NbGraderAPI(config=nbgrader_config(root)).generate_assignment(ASSIGNMENT)
        if not result.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.get('error') or result.get('log')}")
        release = root / "release" / ASSIGNMENT
        made = sorted(release.glob("*.ipynb"))
        if [p.name for p in made] != [b.name for b in books]:
            raise RuntimeError(f"nbgrader released {[p.name for p in made]}, expected {[b.name for b in books]}")
        problems = [line for p in made for line in leaks(p)]
        if problems:
            raise RuntimeError("the student edition would still show solutions:\n" + "\n".join(problems))
        staging = Path(tempfile.mkdtemp(prefix=".student-", dir=target.parent if target.parent.exists() else None))
        (staging / "notebooks").mkdir()
        for p in made:
            shutil.copy2(p, staging / "notebooks" / p.name)
        for name in SHOWN_FILES:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, staging / name)
    if target.exists():
        shutil.rmtree(target)
    staging.replace(target)
    return sorted((target / "notebooks").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cibtools.edition",
                                     description="Write the student edition of the notebooks (nbgrader release).")
    parser.add_argument("target", nargs="?", default=str(REPO_ROOT / "student"),
                        help="folder to write (replaced whole; default: student/)")
    args = parser.parse_args(argv)
    try:
        made = write_student_edition(Path(args.target))
    except RuntimeError as error:
        print(f"student edition not written: {error}", file=sys.stderr)
        return 1
    print(f"student edition: {len(made)} notebooks in {Path(args.target) / 'notebooks'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
