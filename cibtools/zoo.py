"""The trained models every notebook shares: one config per (method, dataset, profile, seed).

Notebook 04 trains them; later notebooks call `get_model` with the same arguments and load them
from the checkpoint cache instead of retraining (a missing one is trained on the spot).
"""
from __future__ import annotations

import torch

from .cache import train_or_load
from .config import TrainConfig
from .profiles import settings
from .train import TrainResult


def config_for(method: str, dataset: str, profile: str, seed: int = 0, **overrides) -> TrainConfig:
    """The profile's training config: its epochs (AT (PGD-20) has its own count) and training subset."""
    p = settings(profile)
    epochs = p.at_pgd_epochs if method == "at_pgd" else p.epochs
    arch = "alexnet" if dataset in ("cifar10", "fake_cifar10") else "mlp"
    base = dict(method=method, dataset=dataset, arch=arch, epochs=epochs, seed=seed, train_limit=p.train_limit)
    base.update(overrides)
    return TrainConfig(**base).resolved()


def get_model(method: str, dataset: str, profile: str, seed: int = 0, device: torch.device | str | None = None,
              progress: bool = True, **overrides) -> TrainResult:
    """Load (or train and cache) the model of `config_for(...)`."""
    return train_or_load(config_for(method, dataset, profile, seed, **overrides), device=device, progress=progress)
