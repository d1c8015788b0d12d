"""Where the project keeps its files: data, figures, results, the checkpoint cache, run outputs.

Every location can be moved with an environment variable, so a notebook run by the smoke profile
(CI) never overwrites the committed figures and results of the last quick run.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    """Folder for `figures` or `results` of a run at `profile`.

    The quick and paper profiles write to the repository's `figures/` and `results/` (committed);
    the smoke profile writes under `runs/smoke/` so CI never touches the committed outputs.
    Env `CIB_FIGURES_DIR` / `CIB_RESULTS_DIR` override both.
    """
    if kind not in ("figures", "results"):
        raise ValueError(f"kind must be 'figures' or 'results', got {kind!r}")
    default = REPO_ROOT / kind if profile != "smoke" else runs_dir() / "smoke" / kind
    path = _env_path(f"CIB_{kind.upper()}_DIR", default)
    path.mkdir(parents=True, exist_ok=True)
    return path
