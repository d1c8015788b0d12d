"""Run the notebooks in numbered order with papermill: `python -m cibtools.runner --profile quick`.

Executed copies go to `runs/<profile>/`, and a log per notebook to `runs/<profile>/logs/` (each cell
as it starts and ends, with the time, its printed output, and any error). The run stops at the first
failing notebook and names it and the failing cell. Each notebook writes its figures and tables under
`runs/<profile>/`; at the quick and paper profiles the runner publishes them to the committed
`figures/` and `results/` when, and only when, the notebook completes (`paths.publish`). An
interrupted run (Ctrl-C) renames the notebook it was running to `<name>.partial.ipynb` and exits
with a one-line message.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from . import paths
from .data import CIFAR10_ARCHIVE, available
from .profiles import PROFILES, check_profile

NOTEBOOKS_DIR = paths.REPO_ROOT / "notebooks"


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the failing cell."""


class RunInterrupted(RuntimeError):
    """The run was interrupted (Ctrl-C); the message names the notebook it was running."""


def list_notebooks(folder: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """Notebooks named `NN-*.ipynb` in numbered order, optionally only those numbered in `only`
    (`2`, `02` and `02-causal-iv` all name notebook 02). An entry that names no notebook raises."""
    books = sorted(p for p in Path(folder).glob("[0-9][0-9]-*.ipynb"))
    if not only:
        return books
    numbers = {}
    for entry in only:
        head = str(entry).split("-")[0]
        if not head.isdigit():
            raise NotebookFailed(f"--only takes notebook numbers such as 2 or 02, got {entry!r}.")
        numbers[f"{int(head):02d}"] = entry
    missing = [entry for number, entry in numbers.items() if not any(b.name[:2] == number for b in books)]
    if missing:
        have = ", ".join(b.name[:2] for b in books)
        raise NotebookFailed(f"No notebook numbered {', '.join(map(str, missing))} in {folder} (there are: {have}).")
    return [b for b in books if b.name[:2] in numbers]


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
    try:
        meta = json.loads(book.read_text()).get("metadata", {}).get("cibtools", {})
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{book} is not a valid notebook ({type(err).__name__}: {err}): restore it with "
                         f"`git checkout -- {book}`.") from None
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
    """Execute the notebooks in order at `profile`; raise `NotebookFailed` at the first failure.

    At quick and paper (and only for the repository's own notebooks), each completed notebook's
    outputs are published to the committed `figures/` and `results/`."""
    check_profile(profile)
    out = Path(out_dir) if out_dir is not None else paths.runs_dir() / profile
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: give a folder for the executed notebooks and logs/.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out} cannot be created ({type(err).__name__}: {err}): give a writable folder.") from None
    read_timings(out / "timings.json")  # a damaged record is found before any notebook runs, not after
    books = list_notebooks(Path(folder), only)
    if not books:
        raise NotebookFailed(f"No notebooks named NN-*.ipynb in {folder}.")
    publishing = Path(folder) == NOTEBOOKS_DIR and profile != "smoke"
    timings, merged = [], []
    for book in books:
        missing = _missing_data(book, profile)
        if missing:
            log(f"[{profile}] SKIPPED {book.name}: it needs {missing}, which is not in {paths.data_dir()} "
                f"(and cannot be downloaded here). Place {CIFAR10_ARCHIVE} there to run it.")
            entry = {"notebook": book.name, "seconds": 0.0, "skipped": f"needs {missing}"}
        else:
            log(f"[{profile}] {book.name} ...")
            started = time.time()
            seconds = _execute(book, out / book.name, profile, kernel)
            entry = {"notebook": book.name, "seconds": round(seconds, 1)}
            log(f"[{profile}] {book.name} done in {seconds:.1f} s")
            if publishing:
                copied = paths.publish(f"{book.name[:2]}_", profile, since=started)
                log(f"[{profile}] published {len(copied)} figures and tables of {book.name}")
        timings.append(entry)
        merged = record_timings(out / "timings.json", [entry])  # kept even if a later notebook fails
    if publishing and not only:  # the summary of a partial run would drop the other notebooks' tables
        from .summary import write_summary

        write_summary(profile, merged)
        paths.publish("SUMMARY", profile)
        log(f"Summary of all results: {paths.published_dir('results') / 'SUMMARY.md'}")
    return timings


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[logging.Logger]:
    """papermill's cell-by-cell log (with times) into `path` while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("papermill")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        handler.close()


def _execute(book: Path, target: Path, profile: str, kernel: str) -> float:
    """Run one notebook headlessly with papermill; its wall time in seconds, or NotebookFailed.

    Its log goes to `<target folder>/logs/<name>.log`; on Ctrl-C the partial executed copy is renamed
    `<name>.partial.ipynb` and RunInterrupted is raised."""
    import papermill as pm

    start = time.perf_counter()
    log_path = target.parent / "logs" / f"{book.stem}.log"
    with _log_to(log_path) as logger:
        try:
            with _headless(), open(log_path, "a") as stream:
                pm.execute_notebook(str(book), str(target), parameters={"profile": profile}, kernel_name=kernel,
                                    cwd=str(book.parent), log_output=True, progress_bar=False,
                                    stdout_file=stream, stderr_file=stream)
        except KeyboardInterrupt:
            partial = target.with_suffix(".partial.ipynb")
            if target.exists():
                target.replace(partial)
            logger.info(f"INTERRUPTED after {time.perf_counter() - start:.1f} s")
            raise RunInterrupted(f"Interrupted while running {book.name}; its partial copy is {partial}.") from None
        except Exception as err:  # noqa: BLE001 - papermill raises several types; all mean "failed"
            cell = _failing_cell(target) if target.exists() else str(err).splitlines()[0]
            logger.info(f"FAILED at {cell}")
            raise NotebookFailed(f"{book.name} failed at {cell.rstrip('.')}. Executed copy: {target}; "
                                 f"log: {log_path}") from err
        seconds = time.perf_counter() - start
        logger.info(f"DONE in {seconds:.1f} s")
    return seconds


def record_timings(path: Path, timings: list[dict]) -> list[dict]:
    """Merge `timings` (just finished, stamped now) into `path`: one entry per notebook, the latest
    run wins, sorted by name.

    Runs with `--only` thus add to the record of earlier runs instead of erasing it.
    """
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    known = {t["notebook"]: t for t in read_timings(path)}
    known.update({t["notebook"]: {**t, "finished": now, "threads": _threads()} for t in timings})
    merged = [known[name] for name in sorted(known)]
    path.write_text(json.dumps(merged, indent=2))
    return merged


def read_timings(path: Path) -> list[dict]:
    """The entries of a timings record (none when it does not exist); a ValueError naming it when it is not one."""
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        entries, reason = None, f"{type(err).__name__}: {err}"
    else:
        reason = "not a list of entries with a 'notebook' name"
    if not isinstance(entries, list) or not all(isinstance(t, dict) and isinstance(t.get("notebook"), str)
                                                for t in entries):
        raise ValueError(f"{path} is not a timings record ({reason}): delete it (it only records how long each "
                         f"notebook took; the next run writes it again).")
    return entries


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--only", nargs="*", help="notebook numbers to run, e.g. 3 4 or 04 05")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for executed notebooks and logs/ (default runs/<profile>/)")
    args = parser.parse_args(argv)
    try:
        timings = run_notebooks(args.profile, out_dir=args.out, only=args.only)
    except NotebookFailed as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    except ValueError as err:  # a bad --out, a damaged timings record, an unknown profile: before any notebook ran
        print(err, file=sys.stderr)
        return 2
    except (RunInterrupted, KeyboardInterrupt) as err:
        print(f"Interrupted: {err or 'between notebooks'}. Published outputs are those of completed notebooks.",
              file=sys.stderr)
        return 130
    total = sum(t["seconds"] for t in timings)
    print(f"All {len(timings)} notebooks ran at profile {args.profile!r} in {total:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
