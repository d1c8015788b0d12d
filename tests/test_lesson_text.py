"""What a student reads in the notebooks: it speaks of the lesson, not of the tooling that checks it (no CI,
nbval, papermill, "rots"); a number of epochs said for a profile is that profile's; and every notebook opens
with the call that says when a run's numbers are not results (`cibtools.settings` or `lesson.start`)."""
import io
import re
import tokenize

import nbformat
import pytest

from cibtools import paths, profiles

ROOT = paths.REPO_ROOT
BOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
# the tools behind the tests; "CI" as a confidence interval (02: "95% CI", "CI width", "inside CI") is fine
TOOLING = re.compile(r"\bnbval\b|\bpapermill\b|\bpytest\b|test suite|\brots?\b|\bnever rot|continuous integration"
                     r"|(?<!% )(?<!inside )\bCI\b(?! width)", re.I)
EPOCHS_AT = [re.compile(r"(\d+) (?:epochs? )?at `(\w+)`"), re.compile(r"`(\w+)` trains (\d+) epochs")]


def _student_text(cell) -> str:
    """Markdown as it reads; of a code cell, what it prints or says: its string literals and comments."""
    if cell.cell_type == "markdown":
        return cell.source
    try:
        return "\n".join(t.string for t in tokenize.generate_tokens(io.StringIO(cell.source).readline)
                         if t.type in (tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1)))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return cell.source


def _cells(book):
    return nbformat.read(book, as_version=4).cells


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_student_facing_text_names_no_test_tooling(book):
    found = [f"cell {i}: ...{m.string[max(0, m.start() - 40):m.end() + 40]!r}..."
             for i, c in enumerate(_cells(book)) for m in TOOLING.finditer(_student_text(c))]
    assert not found, f"{book.name} speaks of the tooling, not the lesson:\n" + "\n".join(found)


def test_the_tooling_pattern_bites():
    assert TOOLING.search("CI runs it so the exercises never rot") and TOOLING.search("under papermill")
    assert not TOOLING.search("the slope's 95% CI; average CI width; formula inside CI")


@pytest.mark.parametrize("where", ["README.md"] + [b.name for b in BOOKS])
def test_epochs_said_for_a_profile_are_that_profiles(where):
    text = ((ROOT / where).read_text() if where == "README.md"
            else "\n".join(c.source for c in _cells(ROOT / "notebooks" / where) if c.cell_type == "markdown"))
    for pattern in EPOCHS_AT:
        for m in pattern.finditer(text):
            n, name = (m.group(1), m.group(2)) if pattern is EPOCHS_AT[0] else (m.group(2), m.group(1))
            if name in profiles.PROFILES and "epoch" in text[max(0, m.start() - 80):m.end() + 10]:
                assert int(n) == profiles.settings(name).epochs, f"{where}: {m.group(0)!r}, but {name} trains " \
                                                                  f"{profiles.settings(name).epochs} epochs"


def test_the_epochs_check_bites():
    m = EPOCHS_AT[0].search("trained for the profile's epochs (8 at `quick`, the paper's 50 at `paper`)")
    assert m and (m.group(1), m.group(2)) == ("8", "quick") and profiles.settings("quick").epochs != 8


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name[:2])
def test_every_notebook_opens_with_the_profile_call(book):
    code = "\n".join(c.source for c in _cells(book) if c.cell_type == "code")
    assert "cibtools.settings(profile)" in code or "lesson.start(profile" in code, \
        f"{book.name} should open with `P = cibtools.settings(profile)` or `cibtools.lesson.start(profile, ...)`"
