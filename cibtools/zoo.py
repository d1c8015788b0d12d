"""The trained models every notebook shares: one config per (method, dataset, profile, seed).

Notebook 04 trains them; later notebooks call `get_model` with the same arguments and load them
from the checkpoint cache instead of retraining (a missing one is trained on the spot).
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .cache import checkpoint_path, train_or_load
from .config import TrainConfig
from .profiles import settings
from .train import TrainResult
from . import workers as workers_mod


def config_for(method: str, dataset: str, profile: str, seed: int = 0, **overrides) -> TrainConfig:
    """The profile's training config: its epochs for the method (`Profile.epochs_for`) and training subset."""
    p = settings(profile)
    epochs = p.epochs_for(method)
    arch = "alexnet" if dataset in ("cifar10", "fake_cifar10") else "mlp"
    base = dict(method=method, dataset=dataset, arch=arch, epochs=epochs, seed=seed, train_limit=p.train_limit)
    base.update(overrides)
    return TrainConfig(**base).resolved()


def get_model(method: str, dataset: str, profile: str, seed: int = 0, device: torch.device | str | None = None,
              progress: bool = True, **overrides) -> TrainResult:
    """Load (or train and cache) the model of `config_for(...)`; a model the cache lacks is announced, with its
    epochs, before it trains (a student who opens a notebook before 04 sees why it takes minutes)."""
    cfg = config_for(method, dataset, profile, seed, **overrides)
    if not checkpoint_path(cfg).exists():
        print(f"{method} on {dataset} (seed {seed}, {cfg.epochs} epoch(s)) is not in the checkpoint cache yet: "
              f"training it now, once; later notebooks load it.", flush=True)
    return train_or_load(cfg, device=device, progress=progress)


# What one epoch costs relative to a Baseline epoch (the idle quick run at 3e4d923, `results/04_training.csv`: AT
# (PGD-20) 16-26x, CiiV 8-14x, the others 1-3x): the longest jobs go first, so that two workers finish together.
_COST = {"at_pgd": 18.0, "ciiv": 10.0, "causalib": 1.6, "vib": 1.5, "at_fgsm": 1.7}


def _train_in_worker(method: str, dataset: str, profile: str, seed: int, overrides: tuple = ()) -> None:
    """One worker's job: train (or load) one model on the CPU and leave it in the cache."""
    get_model(method, dataset, profile, seed, device="cpu", progress=False, **dict(overrides))


def _config(key: tuple, profile: str) -> TrainConfig:
    method, dataset, seed, *rest = key
    return config_for(method, dataset, profile, seed, **dict(rest[0] if rest else ()))


def train_missing(keys: list[tuple], profile: str, device: torch.device | str | None = None,
                  workers: int | str = "auto") -> list[tuple]:
    """Train the models of `keys` that the checkpoint cache lacks, by `workers.count(...)` processes at once, each
    on one thread, the costliest first; with one worker, in this process on `device`. A key is
    (method, dataset, seed) or (method, dataset, seed, overrides), overrides a tuple of (name, value) pairs of
    `config_for`. Returns the keys trained; an error or an interrupt stops every worker (finished models stay
    in the cache)."""
    by_path = {}  # one job per checkpoint: two keys naming the same config (a default spelled out) train it once
    for k in dict.fromkeys(keys):
        by_path.setdefault(checkpoint_path(_config(k, profile)), k)
    missing = [k for path, k in by_path.items() if not path.exists()]
    n = workers_mod.count(len(missing), device, workers)
    if n == 1:
        for m, d, s, *rest in missing:
            get_model(m, d, profile, seed=s, device=device, **dict(rest[0] if rest else ()))
        return missing
    order = sorted(missing, key=lambda k: -_COST.get(k[0], 1.0) * _config(k, profile).epochs)
    print(f"not in the checkpoint cache yet, trained now by {n} one-thread processes at once, the longest first: "
          + ", ".join(f"{m} on {d} (seed {s})" for m, d, s, *_ in order), flush=True)
    workers_mod.starmap(_train_in_worker, [(m, d, profile, s, *rest) for m, d, s, *rest in order], n)
    return missing


def get_models(keys: list[tuple], profile: str, device: torch.device | str | None = None,
               workers: int | str = "auto", progress: bool = True) -> dict[tuple, TrainResult]:
    """`get_model` for every key of `keys` (see `train_missing`), as a dict keyed like `keys`: the missing models
    are trained first (`train_missing`), then every model is loaded; one trained here is marked
    `from_cache=False`."""
    trained = {checkpoint_path(_config(k, profile)) for k in train_missing(keys, profile, device, workers)}
    out = {}
    for key in dict.fromkeys(keys):
        m, d, s, *rest = key
        r = get_model(m, d, profile, seed=s, device=device, progress=progress, **dict(rest[0] if rest else ()))
        out[key] = replace(r, from_cache=False) if checkpoint_path(r.config) in trained else r
    return out
