"""Where the project keeps its files: data, figures, results, the checkpoint cache, run outputs.

Every location can be moved with an environment variable. Notebooks write to `runs/<profile>/`;
only the runner publishes a completed notebook's outputs to the committed `figures/` and `results/`.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("figures", "results")


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Folder holding `MNIST/raw`, `FashionMNIST/raw` and CIFAR-10 (env `CIB_DATA_DIR`)."""
    return _env_path("CIB_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Checkpoint cache of trained models (env `CIB_CACHE_DIR`, default `.cache/checkpoints`)."""
    return _env_path("CIB_CACHE_DIR", REPO_ROOT / ".cache" / "checkpoints")


def runs_dir() -> Path:
    """Executed notebooks and logs of the runner (env `CIB_RUNS_DIR`, default `runs/`)."""
    return _env_path("CIB_RUNS_DIR", REPO_ROOT / "runs")


def output_dir(kind: str, profile: str) -> Path:
    """Folder where a notebook run at `profile` writes its `figures` or `results`: `runs/<profile>/<kind>`.

    Notebooks never write to the committed `figures/` and `results/`: only the runner publishes there,
    notebook by notebook as each completes (`publish`), so "Run all" in JupyterLab or a papermill run
    by hand cannot overwrite them. Env `CIB_FIGURES_DIR` / `CIB_RESULTS_DIR` move these folders.
    """
    from .profiles import check_profile

    if kind not in KINDS:
        raise ValueError(f"kind must be 'figures' or 'results', got {kind!r}")
    path = _env_path(f"CIB_{kind.upper()}_DIR", runs_dir() / check_profile(profile) / kind)
    path.mkdir(parents=True, exist_ok=True)
    return path


def published_dir(kind: str) -> Path:
    """The committed `figures/` or `results/` folder that `publish` copies completed runs into."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'figures' or 'results', got {kind!r}")
    return REPO_ROOT / kind


def publish(prefix: str, profile: str, since: float = 0.0, target: Path | None = None) -> list[Path]:
    """Copy the outputs named `<prefix>*` that a run at `profile` wrote at or after `since` (a
    `time.time()`) from `runs/<profile>/` into the committed folders (or `target/<kind>`), each file
    written to a temporary name and renamed, so a crash never leaves a half-written file there."""
    copied = []
    for kind in KINDS:
        dest = (Path(target) / kind) if target is not None else published_dir(kind)
        for src in sorted(output_dir(kind, profile).glob(f"{prefix}*")):
            if not src.is_file() or src.stat().st_mtime < since:
                continue
            dest.mkdir(parents=True, exist_ok=True)
            tmp = dest / f".{src.name}.tmp"
            shutil.copyfile(src, tmp)
            tmp.replace(dest / src.name)
            copied.append(dest / src.name)
    return copied
