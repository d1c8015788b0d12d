"""The opening of a lesson notebook: the profile's numbers (`settings`, which notebooks call as
`cibtools.settings`, and which says in one line when a run's numbers are not results), or in one call the
numbers, the device, the first seed and the test images that the lesson attacks.

    P = cibtools.settings(profile)
    L = cibtools.lesson.start(profile, "mnist", limit="attack_limit")
    L.settings.epochs, L.device, L.seed, L.test
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import TensorData, load_dataset
from . import profiles
from .profiles import Profile
from .train import default_device

LIMITS = ("test_limit", "attack_limit")
NOT_RESULTS = ("profile=smoke: a check that this notebook runs ({epochs} epoch(s) on {train} training images, small "
               "test subsets); its numbers, tables and figures are not results. Profiles 'quick' and 'paper' give results.")


def settings(profile: str | None = None, **overrides) -> Profile:
    """`profiles.settings(profile, **overrides)` for a lesson: at `smoke` it first prints one line saying that the
    run's numbers are not results (every notebook opens with this call or with `start`)."""
    P = profiles.settings(profile, **overrides)
    if P.name == "smoke":
        print(NOT_RESULTS.format(epochs=P.epochs, train=P.train_limit))
    return P


@dataclass(frozen=True)
class Lesson:
    profile: str
    settings: Profile
    device: torch.device
    seed: int
    test: TensorData


def start(profile: str, dataset: str, limit: str = "attack_limit", quiet: bool = False) -> Lesson:
    """Settings of `profile`, the default device, the profile's first seed (also seeds torch's RNG) and
    the first `settings.<limit>` test images of `dataset` on that device; prints one line saying so."""
    if limit not in LIMITS:
        raise ValueError(f"Unknown limit {limit!r}: use one of {', '.join(LIMITS)} (a field of the profile).")
    P = settings(profile)
    device = default_device()
    seed = P.seeds[0]
    torch.manual_seed(seed)
    test = load_dataset(dataset, "test", device=device, limit=getattr(P, limit))
    if not quiet:
        print(f"profile={profile}  device={device}  dataset={dataset}  seed={seed}  test images n={len(test)}")
    return Lesson(profile, P, device, seed, test)
