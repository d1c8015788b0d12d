"""The documents that report results say what the committed result files say: RESULTS.md is exactly what
`cibtools.results_md` writes from them, every number in it exists in a committed results file, and every number
in README.md and in notebook 00's summary appears in RESULTS.md (which quotes notebook 11's conclusion), so
none of them can drift from notebook 11's rows. README.md stays an entry point of about 100 lines."""
import bisect
import json
import re

import nbformat
import pandas as pd
import pytest

from cibtools import paper_settings, paths, results_md, verdict

ROOT = paths.REPO_ROOT
# a number as a reader sees it: 67.4, 0.02, 1.9e-05, or an integer with a % sign; not part of a version (2.14.1),
# a name (s0, 11_conclusion) or a budget (50/255)
NUMBER = re.compile(r"(?<![\w./-])(\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\w/]|\.\d)(%?)")
UNITS = re.compile(r"^\s?(?:min|s|ms|h|GB|MB|x)\b")  # a time, a size or a ratio of the set-up: a measurement
RAW_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def reported_numbers(text: str) -> list[tuple[str, float, float]]:
    """(token, value, half a unit of its last printed digit) of every decimal number, every number in
    scientific notation and every integer percentage in `text`; times, sizes and counts are not results."""
    found = []
    for m in NUMBER.finditer(text):
        token, percent = m.group(1), m.group(2)
        if UNITS.match(text[m.end():]) or ("." not in token and "e" not in token and not percent):
            continue
        if re.search(r"(?:Sec\.|Eq\.|Table|Fig\.|Figure|Tables)\s?$", text[max(0, m.start() - 8):m.start()]):
            continue  # a section, equation or table of the paper
        mantissa, _, exponent = token.partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        found.append((token, float(token), 0.5 * 10.0 ** (int(exponent or 0) - decimals)))
    return found


def committed_numbers() -> list[float]:
    """Every number in the committed results: results/*.csv, the paper-settings rows, stronger attacks and
    noise scales (read through `paper_settings`), and the speed measurements."""
    texts = [p.read_text() for p in sorted((ROOT / "results").glob("*.csv"))]
    texts += [frame.to_csv(index=False) for frame in (paper_settings.read_rows(), paper_settings.read_strong(),
                                                      paper_settings.read_scales())]
    texts += [p.read_text() for p in sorted(results_md.MEASURED.glob("*.json"))]
    return sorted({abs(float(x)) for t in texts for x in RAW_NUMBER.findall(t)})


def missing(text: str, pool: list[float]) -> list[str]:
    """The numbers of `text` that no value of `pool` rounds to."""
    out = []
    for token, value, half in reported_numbers(text):
        i = bisect.bisect_left(pool, value - half - 1e-12)
        if not (i < len(pool) and pool[i] <= value + half + 1e-12):
            out.append(token)
    return out


def tokens(text: str) -> set[str]:
    return {t for t, _, _ in reported_numbers(text)}


def overview_summary() -> str:
    nb = nbformat.read(ROOT / "notebooks" / "00-overview.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## What we found")]
    assert len(cells) == 1, "notebook 00 needs one markdown cell '## What we found'"
    return cells[0]


@pytest.fixture(scope="module")
def pool():
    return committed_numbers()


def test_results_md_is_what_the_committed_files_give():
    assert (ROOT / "RESULTS.md").read_text() == results_md.render(), \
        "RESULTS.md differs from the committed results: run `python -m cibtools.results_md` and commit it"


def test_every_number_in_results_md_is_in_a_committed_results_file(pool):
    assert missing((ROOT / "RESULTS.md").read_text(), pool) == []


@pytest.mark.parametrize("where", ["README.md", "notebook 00's summary"])
def test_every_number_of_the_readme_and_of_00_is_in_results_md(where, pool):
    text = (ROOT / "README.md").read_text() if where == "README.md" else overview_summary()
    results = tokens((ROOT / "RESULTS.md").read_text())
    assert reported_numbers(text), f"{where} should state the finding with numbers"
    absent = sorted(t for t in tokens(text) if t not in results)
    assert absent == [], f"{where} states numbers that RESULTS.md does not: {absent}"
    assert missing(text, pool) == []


def test_00_quotes_notebook_10s_committed_conclusion():
    lines = pd.read_csv(ROOT / "results" / "11_conclusion.csv")["conclusion"].str.strip().tolist()
    quoted = [q.strip()[1:].strip() for q in overview_summary().splitlines() if q.strip().startswith(">")]
    quoted = [q for q in quoted if q]
    assert 2 <= len(quoted) <= 5, "00 quotes a few lines of the conclusion"
    for q in quoted:
        fragments = [f.strip() for f in q.split("...") if f.strip()]
        assert any(all(f in line for f in fragments) for line in lines), f"not in results/11_conclusion.csv: {q}"


def test_the_committed_conclusion_is_what_the_committed_rows_give():
    # notebook 11 wrote results/11_conclusion.csv; `committed_verdict` must give it again from the rows (rows added
    # since without republishing 11, or a verdict that reads other rows than the notebook, fail here)
    lines = pd.read_csv(ROOT / "results" / "11_conclusion.csv")["conclusion"].tolist()
    assert verdict.committed_verdict().splitlines() == lines


def test_the_check_bites():
    pool = [0.02, 9.71, 66.06, 67.43]
    assert missing("keeps 67.4% (paper 66.06%), AutoAttack 0.02%; at most 9.71%", pool) == []
    assert missing("keeps 67.6% and 12.34 points, p = 3e-05", pool) == ["67.6", "12.34", "3e-05"]
    assert missing("50 epochs, 3 seeds, 10,000 images at 50/255, torch 2.14.1, 77 min, 5.9 GB, seed s0, Sec. 4.6", pool) == []
    assert [t for t, _, _ in reported_numbers("1.9e-05 and 81%")] == ["1.9e-05", "81"]


def test_readme_is_an_entry_point():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 110, "README.md is the front door: move details to RESULTS.md"
    for needed in ("make reproduce", "make test", "over an hour", "RESULTS.md", "CHANGELOG.md", "figures/11_paper_settings.png",
                   "<!-- colab:start -->", "<!-- colab:end -->", "## Tests"):
        assert needed in text, f"README.md should mention {needed!r}"
    for stale in ("Still to run", "previous run", "This corrects", "so far"):
        assert stale not in text, f"history belongs in CHANGELOG.md: {stale!r}"
    for row in json.loads((ROOT / "results" / "11_conclusion.json").read_text())["rows"][:1]:
        assert "conclusion" in row
