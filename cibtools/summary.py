"""results/SUMMARY.md: every result table of a run as Markdown, with the profile, commit and timings."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .paths import output_dir
from .results import git_commit

# The tables worth reading first, in order; every other results/*.csv follows them.
HEADLINE = ["05_table1", "06_ablations", "07_unbounded_attacks", "09_adaptive", "09_protocols", "05_sanity_checks"]


def markdown_table(df: pd.DataFrame, digits: int = 2) -> str:
    """A plain Markdown table (no extra dependency)."""
    df = df.copy()
    for c in df.select_dtypes("float").columns:
        df[c] = df[c].round(digits)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def write_summary(profile: str, timings: list[dict], results: Path | None = None) -> Path:
    """Collect `results/*.csv` into `SUMMARY.md` next to them."""
    folder = Path(results) if results is not None else output_dir("results", profile)
    names = sorted(p.stem for p in folder.glob("*.csv"))
    ordered = [n for n in HEADLINE if n in names] + [n for n in names if n not in HEADLINE]
    meta = {}
    for n in ordered:
        js = folder / f"{n}.json"
        if js.exists():
            meta = json.loads(js.read_text()).get("meta", meta)
            break
    parts = [f"# Results of the `{profile}` profile",
             f"Produced by `python -m cibtools.runner --profile {profile}` at commit `{git_commit()}` on "
             f"{meta.get('device_name', meta.get('device', 'unknown device'))} ({meta.get('threads', '?')} threads), "
             f"{meta.get('time', '')}. Every number below was computed by the notebooks; the paper's numbers "
             f"appear only in columns named `paper`.",
             "## Wall time per notebook", markdown_table(pd.DataFrame(timings))]
    for n in ordered:
        parts += [f"## {n}", markdown_table(pd.read_csv(folder / f"{n}.csv"))]
    path = folder / "SUMMARY.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path
