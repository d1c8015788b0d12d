"""Writing result tables with the metadata needed to trust them: config, seeds, versions, device, commit."""
from __future__ import annotations

import json
import platform
import subprocess
import time
from pathlib import Path

import pandas as pd
import torch

from .paths import REPO_ROOT, output_dir


def git_commit() -> str:
    """Short commit of the working tree, with `+dirty` when it has uncommitted changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_metadata(profile: str, device: torch.device | str, **extra) -> dict:
    """Who/what/where of a run: profile, device, versions, commit, time, plus `extra` (seeds, config)."""
    dev = torch.device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu"
    return {
        "profile": profile, "device": str(dev), "device_name": name, "torch": str(torch.__version__),
        "python": platform.python_version(), "threads": torch.get_num_threads(), "commit": git_commit(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"), **extra,
    }


def save_table(table: pd.DataFrame, name: str, profile: str, meta: dict) -> Path:
    """Write `<name>.csv` and `<name>.json` (rows + metadata) to the results folder of `profile`."""
    folder = output_dir("results", profile)
    table.to_csv(folder / f"{name}.csv", index=False)
    payload = {"meta": meta, "rows": json.loads(table.to_json(orient="records"))}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
