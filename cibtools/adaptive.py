"""Adaptive evaluation (notebook 08): the attacks the paper lacks, and its evaluation protocol beside ours.

Every function returns a tidy DataFrame with the columns of `evaluate.score`, including `correct`:
the per-example correctness (a numpy bool array) that `worst_case` needs to count an image as robust
only when it survives every attack. Drop `correct` (`without_examples`) before saving a table.

Rows evaluated on `head(data, n)` prefixes of one fixed subset can be combined per example.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import TensorData
from .evaluate import AttackSpec, authors_protocol, craft_all, prediction, prediction_mode, robust_accuracy, score


def head(data: TensorData, n: int | None) -> TensorData:
    """The first `n` examples (all when `n` is None): nested prefixes of one fixed subset, so rows
    evaluated on different sizes can still be compared image by image on their common prefix."""
    if n is None or n >= len(data):
        return data
    return TensorData(data.images[:n], data.labels[:n], data.name, data.split)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily run torch on `n` CPU threads (None: unchanged). Attacks made of many small steps
    (AutoAttack) run faster on one thread, and far faster when other jobs share the cores."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class AttackView(nn.Module):
    """The model as an attacker sees it under another prediction setting, e.g. one random pass
    (`mode="sample", samples=1`: one bottleneck draw, or CiiV's first fixation loop only)."""

    def __init__(self, model: nn.Module, mode: str | None = None, samples: int | None = None) -> None:
        super().__init__()
        self.model, self.mode, self.samples = model, mode, samples

    @property
    def description(self) -> str:
        if not getattr(self.model, "stochastic", False):
            return "reported prediction"
        with prediction(self.model, self.mode, self.samples):
            return prediction_mode(self.model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with prediction(self.model, self.mode, self.samples):
            return self.model(x)


def evaluate(model: nn.Module, data: TensorData, specs: Sequence[AttackSpec], method: str = "",
             attacker: nn.Module | None = None, batch_size: int = 500, protocol: str = "") -> pd.DataFrame:
    """`evaluate.robust_accuracy` with per-example correctness (the rows `worst_case` can pool)."""
    return robust_accuracy(model, data, list(specs), method, batch_size, attacker=attacker, protocol=protocol,
                           per_example=True)


def eot_curve(model: nn.Module, data: TensorData, eps: float, eot_values: Sequence[int], steps: int = 20,
              method: str = "", batch_size: int = 500) -> pd.DataFrame:
    """Accuracy of the sampled prediction against PGD-`steps` whose gradient averages `eot` random
    passes, for each value in `eot_values` (it should fall, then plateau, as `eot` grows)."""
    with prediction(model, "sample"):
        specs = [AttackSpec("pgd", eps, steps=steps, eot=e) for e in eot_values]
        return evaluate(model, data, specs, method, batch_size=batch_size, protocol="EOT curve")


def steps_curve(model: nn.Module, data: TensorData, eps: float, steps_values: Sequence[int], restarts: int = 1,
                eot: int = 1, method: str = "", batch_size: int = 500) -> pd.DataFrame:
    """Accuracy of the model's current prediction against PGD with each number of steps in
    `steps_values` (step 2.5 eps / steps) and `restarts` random restarts (an image counts as broken
    when any restart fools it). More steps should never help the defender."""
    specs = [AttackSpec("pgd", eps, steps=s, restarts=restarts, eot=eot) for s in steps_values]
    return evaluate(model, data, specs, method, batch_size=batch_size, protocol="steps curve")


def mode_grid(model: nn.Module, data: TensorData, eps: float, steps: int = 20, eot: int = 4,
              method: str = "", batch_size: int = 500) -> pd.DataFrame:
    """For a stochastic VIB-style model: PGD-`steps` crafted on the mean prediction or on the sampled
    prediction (EOT over `eot` passes), each scored on both the mean and the sampled prediction."""
    rows = []
    for attacked_mode, spec in (("mean", AttackSpec("pgd", eps, steps=steps)),
                                ("sample", AttackSpec("pgd", eps, steps=steps, eot=eot))):
        view = AttackView(model, attacked_mode)
        start = time.perf_counter()
        x_adv = craft_all(view, spec, data, batch_size)
        seconds = time.perf_counter() - start
        for reported in ("mean", "sample"):
            with prediction(model, reported):
                rows.append(score(model, data, spec, x_adv, method, seconds, view.description,
                                  f"attack {attacked_mode}, report {reported}", per_example=True, batch_size=batch_size))
    return pd.DataFrame(rows)


PROTOCOLS = ("authors", "authors + logits", "authors + reported prediction", "sound")


def protocol_comparison(model: nn.Module, data: TensorData, eps: float, steps: int = 40, eot: int = 4,
                        method: str = "", authors_eps: float | None = None, authors_samples: int = 1,
                        batch_size: int = 500, protocols: Sequence[str] = PROTOCOLS) -> pd.DataFrame:
    """Accuracy of the model's reported prediction under the authors-style and the sound protocol.

    authors: PGD-40, step 0.01, cross-entropy on the softmax output (`evaluate.authors_protocol`),
        the gradient of ONE random forward pass per step and no EOT, at `authors_eps` (default `eps`).
        That pass runs `authors_samples` bottleneck draws (default 1), or that many fixation loops
        of CiiV (1: its first loop, as CiiV's code attacks with `loop=1`).
    authors + logits: the same with cross-entropy on the logits (the double softmax removed).
    authors + reported prediction: softmax-CE, but through the very prediction that is reported.
    sound: PGD-`steps` (step 2.5 eps / steps), CE on the logits of the reported prediction, EOT over
        `eot` passes when that prediction is random.
    Evaluation is always on the reported prediction. For a deterministic model the one-pass variants
    coincide with the reported prediction and are skipped.
    """
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"Unknown protocols {sorted(unknown)}. Valid: {', '.join(PROTOCOLS)}.")
    stochastic = getattr(model, "stochastic", False) and model.predict_mode == "sample"
    authors = authors_protocol(eps if authors_eps is None else authors_eps)
    one_pass = AttackView(model, "sample", authors_samples) if stochastic else None
    plan = {
        "authors": (authors, one_pass),
        "authors + logits": (replace(authors, loss="ce"), one_pass),
        "authors + reported prediction": (authors, None),
        "sound": (AttackSpec("pgd", eps, steps=steps, eot=eot if stochastic else 1), None),
    }
    frames = []
    for name in protocols:
        if not stochastic and name == "authors + reported prediction":
            continue  # identical to `authors` when the prediction is deterministic
        spec, attacker = plan[name]
        frames.append(evaluate(model, data, [spec], method, attacker=attacker, batch_size=batch_size, protocol=name))
    return pd.concat(frames, ignore_index=True)


def reported_predictions(models: dict[str, nn.Module]) -> Iterator[tuple[str, nn.Module]]:
    """(method, model) for every prediction we report: deterministic models as they are, VIB-style
    models in `mean` and then `sample` mode (restored afterwards), CiiV with its fixation loops."""
    for method, model in models.items():
        if getattr(model, "stochastic", False) and model.input_sampler is None:
            for mode in ("mean", "sample"):
                with prediction(model, mode):
                    yield method, model
        else:
            yield method, model


def is_random(model: nn.Module) -> bool:
    """True when the model's current prediction is random (it needs EOT and AutoAttack's `rand`)."""
    return getattr(model, "stochastic", False) and model.predict_mode == "sample"


def join_paper(results: pd.DataFrame, reference: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    """Our accuracies beside the paper's: one row per result with `ours`, `n`, `paper` and `diff`
    (ours - paper, in points). `reference` maps (dataset, method, attack) to the paper's number;
    an attack label's EOT suffix is ignored for the match (the `eot` column keeps it)."""
    out = without_examples(results).copy()
    out["attack"] = out["attack"].str.replace(r" EOT-\d+", "", regex=True)
    out["paper"] = [reference.get((d, m, a), float("nan")) for d, m, a in zip(out["dataset"], out["method"], out["attack"])]
    out = out.rename(columns={"accuracy": "ours"})
    out["diff"] = out["ours"] - out["paper"]
    return out[["dataset", "method", "mode", "attack", "eot", "ours", "n", "paper", "diff"]]


def wide(long: pd.DataFrame, values: Sequence[str] = ("ours", "n", "paper", "diff")) -> pd.DataFrame:
    """`join_paper` pivoted: a row per (dataset, method, mode), per attack the columns `values`."""
    table = long.pivot_table(index=["dataset", "method", "mode"], columns="attack", values=list(values),
                             aggfunc="first", sort=False)
    attacks = list(dict.fromkeys(long["attack"]))
    table = table.reorder_levels([1, 0], axis=1)
    return table[[(a, v) for a in attacks for v in values if (a, v) in table.columns]].round(2)


def without_examples(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the per-example `correct` column (for saving and display)."""
    return table.drop(columns=["correct"], errors="ignore")


def worst_case(table: pd.DataFrame, by: Sequence[str] = ("dataset", "method", "mode", "norm", "eps_255")) -> pd.DataFrame:
    """Robust accuracy = what the strongest attack found, per model, reported prediction and budget.

    `min_accuracy` is the lowest accuracy of any single attack (on that row's own `n`);
    `per_example_accuracy` counts an image as robust only if it survived every attack, computed on
    the first `per_example_n` images (the smallest `n` in the group; rows must come from `head`
    prefixes of one fixed subset). It is never above the accuracy of any single attack on the same
    images. Rows without `correct` give only the minimum. Clean rows are ignored.
    """
    rows = []
    for key, group in table[table["kind"] != "clean"].groupby(list(by), sort=False):
        best = group.loc[group["accuracy"].idxmin()]
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row.update({"attacks": len(group), "strongest_attack": best["attack"], "min_accuracy": best["accuracy"],
                    "min_n": int(best["n"])})
        if "correct" in group and group["correct"].map(lambda c: isinstance(c, np.ndarray)).all():
            n = int(group["n"].min())
            survived = np.logical_and.reduce([c[:n] for c in group["correct"]])
            row.update({"per_example_accuracy": 100.0 * float(survived.mean()), "per_example_n": n})
        else:
            row.update({"per_example_accuracy": float("nan"), "per_example_n": 0})
        rows.append(row)
    return pd.DataFrame(rows)
