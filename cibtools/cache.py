"""Checkpoint cache: trained models on disk keyed by the hash of their full config.

Later notebooks load what earlier ones trained. A checkpoint whose stored config differs from the
requested one is never loaded; a corrupt or incompatible file raises `CheckpointError` naming it
and is only replaced when the caller passes `retrain=True`, and then it is moved aside, not deleted.
Each checkpoint stores a SHA-256 digest of its config and weights, verified on every load, so a file
damaged on disk (even one that still unpickles) is refused instead of giving wrong numbers.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import torch

from . import paths
from .config import TrainConfig
from .train import TrainResult, model_for, train

FORMAT_VERSION = 2  # 2: with the digest of config and weights


class CheckpointError(RuntimeError):
    """A checkpoint file is corrupt, from another version, or does not match its config."""


def checkpoint_path(cfg: TrainConfig, cache: Path | None = None) -> Path:
    cfg = cfg.resolved()
    folder = Path(cache) if cache is not None else paths.cache_dir()
    return folder / f"{cfg.dataset}-{cfg.method}-{cfg.key()}.pt"


def digest(config: dict, state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the config (as sorted JSON) and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_checkpoint(result: TrainResult, path: Path) -> None:
    """Write atomically (temporary file, then rename) so an interrupted save leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    payload = {
        "format": FORMAT_VERSION,
        "config": result.config.as_dict(),
        "digest": digest(result.config.as_dict(), state),
        "state_dict": state,
        "history": result.history,
        "device": result.device,
        "torch": str(torch.__version__),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, cfg: TrainConfig, device: torch.device | str = "cpu",
                    format1: bool = False) -> TrainResult:
    """Load a checkpoint and check that it is the model `cfg` describes. `format1=True` also reads one of format 1,
    written before the digest existed, whose bytes cannot be verified: only `paper_settings.adopt` asks for it, and
    checks the model against its shard's rows before saving it again in today's format."""
    cfg = cfg.resolved()
    advice = f"Delete {path} or call train_or_load(..., retrain=True) to train it again."
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise CheckpointError(f"Checkpoint {path} is corrupt or unreadable ({err}). {advice}") from err
    formats = (FORMAT_VERSION, 1) if format1 else (FORMAT_VERSION,)
    if not isinstance(payload, dict) or payload.get("format") not in formats:
        raise CheckpointError(f"Checkpoint {path} has an unknown format (expected version {FORMAT_VERSION}). {advice}")
    verified = payload["format"] == FORMAT_VERSION
    missing = [k for k in ("config", "state_dict", "history", "device") + (("digest",) if verified else ())
               if k not in payload]
    if missing:
        raise CheckpointError(f"Checkpoint {path} lacks its {', '.join(missing)} (it was not written by "
                              f"save_checkpoint, or was edited). {advice}")
    if payload["config"] != cfg.as_dict():
        raise CheckpointError(f"Checkpoint {path} was trained with another config than requested. {advice}")
    if verified and digest(payload["config"], payload["state_dict"]) != payload.get("digest"):
        raise CheckpointError(f"Checkpoint {path} is damaged: its weights do not match the digest stored when it "
                              f"was saved. {advice}")
    model = model_for(cfg).to(device)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"Checkpoint {path} does not fit the model ({err}). {advice}") from err
    model.eval()
    return TrainResult(model, cfg, payload["history"], payload["device"], from_cache=True)


def train_or_load(
    cfg: TrainConfig,
    device: torch.device | str | None = None,
    cache: Path | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Load the cached model for `cfg`, or train and cache it.

    With `retrain=True` an existing file is moved aside to `<name>.old-<time>` (with a warning)
    before the new model is saved; nothing trained is silently overwritten.
    """
    from .train import default_device

    device = torch.device(device) if device is not None else default_device()
    path = checkpoint_path(cfg, cache)
    if path.exists() and not retrain:
        return load_checkpoint(path, cfg, device)
    result = train(cfg, device=device, progress=progress)
    if path.exists():
        backup = move_aside(path)
        warnings.warn(f"Retraining {path.name}: the previous checkpoint was moved to {backup}.", stacklevel=2)
    save_checkpoint(result, path)
    return result


def move_aside(path: Path) -> Path:
    """Rename `path` to `<name>.old-<time>` (`-2`, `-3`, ... after it when that name is taken), never
    replacing an earlier backup: two retrains in the same second keep both."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        backup = path.with_name(f"{path.name}.old-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            os.link(path, backup)  # fails if the name is taken, where a rename would replace it
        except FileExistsError:
            continue
        except OSError:  # no hard links here: take a free name (a clash needs two writers in the same instant)
            if backup.exists():
                continue
            path.replace(backup)
            return backup
        path.unlink()
        return backup
    raise CheckpointError(f"No free backup name for {path}: remove old `{path.name}.old-*` files.")
