"""Run profiles: `smoke` (seconds, CI), `quick` (default; the whole sequence on a 2-core CPU), `paper`.

A notebook's `parameters` cell names the profile; `settings(profile)` turns it into numbers. Every
notebook reads only the fields it needs, so one table documents all run sizes.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace

import pandas as pd

PROFILES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class Profile:
    name: str
    epochs: int                       # training epochs of every method but AT (PGD-20)
    at_pgd_epochs: int                # AT (PGD-20) costs ~21 forward/backward passes per step
    ciiv_epochs: int                  # CiiV runs 9 fixation loops of a conv net per image
    seeds: tuple[int, ...]            # the paper reports mean +- std over seeds
    train_limit: int | None           # training examples (None: all 60k)
    test_limit: int | None            # test examples for Table 1 style evaluation (None: all 10k)
    attack_limit: int                 # test examples for expensive studies (AutoAttack, sweeps)
    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    ablation_alphas: tuple[float, ...] = (0.0, 0.01, 0.05)
    ablation_betas: tuple[float, ...] = (0.0, 0.05, 1.0)
    alpha_sweep: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    eot_samples: tuple[int, ...] = (1, 4, 16)
    pgd_steps: tuple[int, ...] = (10, 20, 50, 100)
    eps_step_255: int = 8             # Fig. 4: eps from 8/255 to 152/255 in steps of 8/255
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every setting checked when a profile is made (also one with `settings(..., **overrides)`)."""
        for name in ("epochs", "at_pgd_epochs", "ciiv_epochs", "attack_limit", "eps_step_255"):
            _whole(name, getattr(self, name))
        for name in ("train_limit", "test_limit"):
            if getattr(self, name) is not None:
                _whole(name, getattr(self, name), "None (all images) or ")
        for name, low in (("seeds", 0), ("eot_samples", 1), ("pgd_steps", 1)):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values:
                raise ValueError(f"{name} must be a non-empty tuple of integers >= {low}, got {values!r}.")
            for v in values:
                _whole(name, v, low=low, plural=True)
        for name in ("ablation_alphas", "ablation_betas", "alpha_sweep"):
            values = getattr(self, name)
            if (not isinstance(values, tuple) or not values or
                    not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                            for v in values)):
                raise ValueError(f"{name} must be a non-empty tuple of finite numbers >= 0, got {values!r}.")
        if not isinstance(self.datasets, tuple) or not self.datasets or not all(isinstance(d, str) for d in self.datasets):
            raise ValueError(f"datasets must be a non-empty tuple of dataset names, got {self.datasets!r}.")

    def epochs_for(self, method: str) -> int:
        """Training epochs of `method`: AT (PGD-20) and CiiV have their own counts (an epoch costs them 10-20x a
        Baseline epoch), every other method `epochs`."""
        return {"at_pgd": self.at_pgd_epochs, "ciiv": self.ciiv_epochs}.get(method, self.epochs)


def _whole(name: str, value, before: str = "", low: int = 1, plural: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be {before}{'integers' if plural else 'an integer'} >= {low}, got {value!r}.")


_PROFILES = {
    "smoke": Profile("smoke", epochs=1, at_pgd_epochs=1, ciiv_epochs=1, seeds=(0,), train_limit=1000, test_limit=200,
                     attack_limit=100, ablation_alphas=(0.0, 0.05), ablation_betas=(0.0, 0.05),
                     alpha_sweep=(1e-3, 1e-1), eot_samples=(1, 2), pgd_steps=(5, 10), eps_step_255=48),
    # quick: aimed at every notebook in under 15 min on an idle 2-core CPU (issue 22). One-thread costs per 60k-image
    # epoch in the idle quick run at a35ef5f: MLP 6-11 s, VIB 13-16, CausalIB 15, CiiV 86-87, AT (PGD-20) 147-152.
    # Hence 4 epochs, CiiV 3 and AT (PGD-20) 2 (at a35ef5f: 4 and 3, and 04 took 17.8 min; at 3e4d923 15.6 min, on
    # a machine running 15-20% slower), and Table 1 on the first 5000 test images.
    "quick": Profile("quick", epochs=4, at_pgd_epochs=2, ciiv_epochs=3, seeds=(0,), train_limit=None,
                     test_limit=5000, attack_limit=1000, alpha_sweep=(1e-3, 1e-2, 1e-1, 1.0)),
    "paper": Profile("paper", epochs=50, at_pgd_epochs=50, ciiv_epochs=50, seeds=(0, 1, 2), train_limit=None, test_limit=None,
                     attack_limit=10000, ablation_alphas=(0.0, 0.01, 0.05),
                     ablation_betas=(0.0, 0.01, 0.05, 0.2, 0.5, 1.0),
                     alpha_sweep=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), eot_samples=(1, 4, 16, 64),
                     pgd_steps=(10, 20, 50, 100, 200)),
}


def check_profile(profile) -> str:
    """`profile` itself if it names a profile; otherwise a ValueError naming the valid ones."""
    if profile not in _PROFILES:
        raise ValueError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(PROFILES)} "
                         f"(e.g. papermill ... -p profile quick).")
    return profile


def settings(profile: str | None = None, **overrides) -> Profile:
    """The settings of `profile` (None: env `CIB_PROFILE`, else `quick`), with overrides.
    An empty or unknown name raises a ValueError naming the valid profiles."""
    name = os.environ.get("CIB_PROFILE", "quick") if profile is None else profile
    base = _PROFILES[check_profile(name)]
    valid = [f.name for f in fields(Profile) if f.name != "name"]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(f"Unknown setting(s) {', '.join(unknown)}. Valid: {', '.join(valid)}.")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def _shown(value):
    if value is None:
        return "all"
    return ", ".join(map(str, value)) if isinstance(value, tuple) else value


def table() -> pd.DataFrame:
    """Every profile's settings side by side (one column per profile; None is shown as 'all': all
    training or test images), read from the `Profile` dataclasses, so it is what runs."""
    out = pd.DataFrame({name: {f.name: _shown(getattr(_PROFILES[name], f.name))
                               for f in fields(Profile) if f.name not in ("name", "extra")}
                        for name in PROFILES})
    out.index.name = "setting"
    return out
