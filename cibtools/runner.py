"""Run the notebooks in numbered order with papermill: `python -m cibtools.runner --profile quick`.

Executed copies and a log per notebook go to `runs/<profile>/`. The run stops at the first failing
notebook and names it and the failing cell.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from . import paths
from .data import CIFAR10_ARCHIVE, available
from .profiles import PROFILES

NOTEBOOKS_DIR = paths.REPO_ROOT / "notebooks"


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the failing cell."""


def list_notebooks(folder: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """Notebooks named `NN-*.ipynb` in numbered order, optionally only those whose number is in `only`."""
    books = sorted(p for p in folder.glob("[0-9][0-9]*.ipynb"))
    if only:
        books = [p for p in books if p.name[:2] in only]
    return books


def _failing_cell(executed: Path) -> str:
    """Describe the first cell whose output is an error, numbered as in the source notebook (from 0)."""
    try:
        nb = json.loads(executed.read_text())
    except (OSError, ValueError):
        return "unknown cell"
    added = {"injected-parameters", "papermill-error-cell-tag"}  # cells papermill inserts
    cells = [c for c in nb.get("cells", []) if not added & set(c.get("metadata", {}).get("tags", []))]
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = "".join(cell.get("source", "")).strip().splitlines()[:1]
                return f"cell {i} ({first[0][:70] if first else ''!r}): {out.get('ename')}: {out.get('evalue')}"
    return "unknown cell"


def _missing_data(book: Path, profile: str) -> str | None:
    """A dataset the notebook declares in its metadata (`cibtools.requires`) that is not available.

    The smoke profile never needs it (notebooks run on stand-in data there).
    """
    if profile == "smoke":
        return None
    meta = json.loads(book.read_text()).get("metadata", {}).get("cibtools", {})
    for name in meta.get("requires", []):
        if not available(name):
            return name
    return None


@contextlib.contextmanager
def _headless() -> Iterator[None]:
    """CIB_HEADLESS=1 for the kernels started inside (they inherit it): no interactive widgets there
    (`plotting.widgets`). The caller's environment is restored afterwards."""
    before = os.environ.get("CIB_HEADLESS")
    os.environ["CIB_HEADLESS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["CIB_HEADLESS"]
        else:
            os.environ["CIB_HEADLESS"] = before


def run_notebooks(
    profile: str = "quick",
    folder: Path = NOTEBOOKS_DIR,
    out_dir: Path | None = None,
    only: list[str] | None = None,
    kernel: str = "python3",
    log=print,
) -> list[dict]:
    """Execute the notebooks in order at `profile`; raise `NotebookFailed` at the first failure."""
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(PROFILES)}.")
    out = Path(out_dir) if out_dir is not None else paths.runs_dir() / profile
    out.mkdir(parents=True, exist_ok=True)
    books = list_notebooks(Path(folder), only)
    if not books:
        raise NotebookFailed(f"No notebooks named NN-*.ipynb in {folder}.")
    timings, merged = [], []
    for book in books:
        missing = _missing_data(book, profile)
        if missing:
            log(f"[{profile}] SKIPPED {book.name}: it needs {missing}, which is not in {paths.data_dir()} "
                f"(and cannot be downloaded here). Place {CIFAR10_ARCHIVE} there to run it.")
            entry = {"notebook": book.name, "seconds": 0.0, "skipped": f"needs {missing}"}
        else:
            log(f"[{profile}] {book.name} ...")
            seconds = _execute(book, out / book.name, profile, kernel)
            entry = {"notebook": book.name, "seconds": round(seconds, 1)}
            log(f"[{profile}] {book.name} done in {seconds:.1f} s")
        timings.append(entry)
        merged = record_timings(out / "timings.json", [entry])  # kept even if a later notebook fails
    if Path(folder) == NOTEBOOKS_DIR and profile != "smoke":
        from .summary import write_summary

        log(f"Summary of all results: {write_summary(profile, merged)}")
    return timings


def _execute(book: Path, target: Path, profile: str, kernel: str) -> float:
    """Run one notebook headlessly with papermill; its wall time in seconds, or NotebookFailed."""
    import papermill as pm

    start = time.perf_counter()
    try:
        with _headless():
            pm.execute_notebook(str(book), str(target), parameters={"profile": profile}, kernel_name=kernel,
                                cwd=str(book.parent), log_output=False, progress_bar=False)
    except Exception as err:  # noqa: BLE001 - papermill raises several types; all mean "failed"
        cell = _failing_cell(target) if target.exists() else str(err).splitlines()[0]
        raise NotebookFailed(f"{book.name} failed at {cell}. Executed copy: {target}") from err
    return time.perf_counter() - start


def record_timings(path: Path, timings: list[dict]) -> list[dict]:
    """Merge `timings` (just finished, stamped now) into `path`: one entry per notebook, the latest
    run wins, sorted by name.

    Runs with `--only` thus add to the record of earlier runs instead of erasing it.
    """
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    known = {t["notebook"]: t for t in (json.loads(path.read_text()) if path.exists() else [])}
    known.update({t["notebook"]: {**t, "finished": now, "threads": _threads()} for t in timings})
    merged = [known[name] for name in sorted(known)]
    path.write_text(json.dumps(merged, indent=2))
    return merged


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--only", nargs="*", help="notebook numbers to run, e.g. 03 04")
    parser.add_argument("--out", type=Path, default=None, help="folder for executed notebooks")
    args = parser.parse_args(argv)
    try:
        timings = run_notebooks(args.profile, out_dir=args.out, only=args.only)
    except NotebookFailed as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    total = sum(t["seconds"] for t in timings)
    print(f"All {len(timings)} notebooks ran at profile {args.profile!r} in {total:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
