"""`make student`: nbgrader's release of the notebooks holds no solution, and its exercises run unanswered.

What runs: the edition is generated once (all notebooks, nbgrader generate_assignment), then the exercise
section of every notebook (from its "Exercises" heading on) runs in one kernel, first from the instructor
notebooks (to learn the answers) and then from the student notebooks. What is checked statically: every other
cell of a student notebook is the instructor's cell unchanged, and nbval runs those at smoke.
"""
import json
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from cibtools import edition, paths

BOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
# What the lessons' setup cells give their exercises (nbval runs those cells in the instructor notebooks).
PRELUDE = ("import math\nimport numpy as np\nimport pandas as pd\nimport torch\nfrom IPython.display import display\n"
           "from cibtools import exercises, scm, verdict, paper_settings as shards\nrows = shards.read_rows()")
ANSWERS = "print('ANSWERS ' + json.dumps({k: v for k, v in globals().items() if k.startswith('my_') and "\
          "isinstance(v, (int, float, str))}))"


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    start = time.perf_counter()
    made = edition.write_student_edition(tmp_path_factory.mktemp("edition") / "student")
    print(f"student edition of {len(made)} notebooks generated in {time.perf_counter() - start:.1f} s")
    return {p.name: nbformat.read(p, as_version=4) for p in made}


def _is(cell, kind):
    return cell.metadata.get("nbgrader", {}).get(kind, False)


def _exercise_cells(nb):
    start = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                  and re.search(r"^## (\d+\. )?Exercises", c.source, re.M)), None)
    return [] if start is None else [c for c in nb.cells[start:] if c.cell_type == "code"]


def _solution_lines(source):
    inside, lines = False, []
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def test_every_notebook_is_released_and_keeps_its_other_cells(student):
    assert sorted(student) == [b.name for b in BOOKS]
    for book in BOOKS:
        teacher, pupil = nbformat.read(book, as_version=4), student[book.name]
        assert len(teacher.cells) == len(pupil.cells), book.name
        for t, s in zip(teacher.cells, pupil.cells):
            if not (_is(t, "solution") or _is(t, "grade")):
                assert s.source == t.source, f"{book.name}: a cell outside the exercises changed"


def test_no_solution_hidden_test_or_reference_answer_is_left(student):
    checkers = 0
    for book in BOOKS:
        teacher, pupil = nbformat.read(book, as_version=4), student[book.name]
        if any(_is(c, "solution") for c in teacher.cells):  # the detector finds the instructor's solutions
            assert edition.leaks(book), f"{book.name}: edition.leaks sees no solution in the instructor notebook"
        text = "\n".join(c.source for c in pupil.cells)
        for cell in teacher.cells:
            for line in _solution_lines(cell.source):
                assert line not in text, f"{book.name}: the solution line {line!r} is in the student edition"
        for i, cell in enumerate(pupil.cells):
            assert not cell.get("outputs"), f"{book.name} cell {i} carries outputs"
            match = edition._LEFT_BEHIND.search(cell.source)
            assert match is None, f"{book.name} cell {i} still holds {match.group(0)!r}"
            if _is(cell, "solution"):
                stub = edition.TEXT_STUB if cell.cell_type == "markdown" else edition.CODE_STUB
                assert stub in cell.source, f"{book.name} cell {i}: an answer cell without the stub"
            elif _is(cell, "grade"):
                checkers += 1
                assert cell.metadata["nbgrader"]["locked"], f"{book.name} cell {i}: a checker cell is editable"
                assert cell.source.startswith("exercises.check_"), f"{book.name} cell {i}: {cell.source[:60]}"
    assert checkers >= 25, checkers  # 01, 02 and 11 have three exercises, 03-10 two each


def _run(cells):
    nb = new_notebook(cells=[new_code_cell(s) for s in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return nb.cells


def _section_cells(nb):
    parameters = [c.source for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return parameters + [PRELUDE] + [c.source for c in _exercise_cells(nb)]


def _numbers(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value in (0, 1):
        return []
    return {f"{value:.3f}", f"{value:.4f}", f"{value:.2f}"} if abs(value) < 1000 else {f"{value:.0f}", f"{value:,.0f}"}


def test_student_exercises_run_unanswered_and_print_no_answer(student):
    teacher_cells, pupil_cells, pupil_index = [], [], []
    for book in BOOKS:
        teacher = nbformat.read(book, as_version=4)
        if not _exercise_cells(teacher):
            continue
        teacher_cells += ["%reset -f", "import json"] + _section_cells(teacher) + ["import json", ANSWERS]
        cells = _section_cells(student[book.name])
        pupil_cells += ["%reset -f"] + cells
        checks = [c for c in _exercise_cells(student[book.name]) if _is(c, "grade") and not _is(c, "solution")]
        pupil_index += [(book.name, len(checks))]
    ran = _run(teacher_cells + ["%reset -f"] + pupil_cells)
    taught, learned = ran[:len(teacher_cells)], ran[len(teacher_cells) + 1:]
    errors = [o for c in taught for o in c.outputs if o.output_type == "error"]
    assert not errors, f"an instructor exercise failed: {errors[0]['ename']}: {errors[0]['evalue']}"
    answers = []  # (name, value): 01 and 05 both have a my_gap
    for c in taught:
        for o in c.outputs:
            if o.output_type == "stream" and o.text.startswith("ANSWERS "):
                answers += list(json.loads(o.text[len("ANSWERS "):]).items())
    assert len(answers) >= 8, answers
    shown = []
    for c in learned:
        for o in c.outputs:
            assert o.output_type != "error", f"a student exercise cell failed: {o['ename']}: {o['evalue']}\n{c.source}"
            shown.append(o.get("text", "") + json.dumps(o.get("data", {})))
    checked = 0
    for c in learned:
        if c.source.startswith("exercises.check_"):
            checked += 1
            said = [o.data["text/plain"] for o in c.outputs if o.output_type == "execute_result"]
            assert len(said) == 1 and said[0].startswith("Not answered yet: "), (c.source, said)
    assert checked == sum(n for _, n in pupil_index), checked
    everything = "\n".join(shown)
    for name, value in answers:
        for text in _numbers(value):
            assert text not in everything, f"the student edition prints {name}'s answer {text}"
