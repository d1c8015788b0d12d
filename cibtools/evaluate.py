"""Evaluation: robust accuracy as a tidy table, eps sweeps (Fig. 4), and the Sec. 4.6 sanity checks."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Iterator

import pandas as pd
import torch
from torch import nn

from . import attacks
from .data import TensorData

ATTACK_KINDS = ("clean", "fgsm", "pgd", "cw", "autoattack")


@dataclass(frozen=True)
class AttackSpec:
    """One attack setting. `kind` in clean/fgsm/pgd/cw/autoattack; `norm` linf or l2.

    `eot` random forward passes are averaged per gradient; `loss` is ce, cw or ce_on_softmax;
    `version` is AutoAttack's (`standard` or `rand`); `transfer` marks a black-box attack crafted on
    a surrogate model.
    """

    kind: str = "clean"
    eps: float = 0.0
    steps: int = 0
    step_size: float | None = None
    restarts: int = 1
    eot: int = 1
    loss: str = "ce"
    norm: str = "linf"
    version: str = "standard"
    transfer: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"Unknown attack {self.kind!r}. Valid: {', '.join(ATTACK_KINDS)}.")
        attacks.check_eps(self.eps, self.norm)
        steps = self.steps if self.kind in ("pgd", "cw") else 1
        attacks.check_settings(steps, self.step_size, self.restarts, self.eot, self.loss)
        if self.version not in ("standard", "rand"):
            raise ValueError(f"Unknown AutoAttack version {self.version!r}. Valid: standard, rand.")

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        name = {"fgsm": "FGSM", "pgd": f"PGD-{self.steps}", "cw": f"CW-{self.steps}",
                "autoattack": f"AA-{self.norm.upper()}"}[self.kind]
        if self.norm == "l2" and self.kind != "autoattack":
            name += "-L2"
        if self.eot > 1:
            name += f" EOT-{self.eot}"
        if self.loss == "ce_on_softmax":
            name += " (softmax-CE)"
        return ("black-box " if self.transfer else "") + name


def paper_attacks(eps: float) -> list[AttackSpec]:
    """Table 1's columns: clean, FGSM and PGD-20 at `eps` (50/255 on MNIST/FashionMNIST)."""
    return [AttackSpec("clean"), AttackSpec("fgsm", eps), AttackSpec("pgd", eps, steps=20)]


def authors_protocol(eps: float = 0.3) -> AttackSpec:
    """The attack of the public code that appears to be the authors': PGD-40, step 0.01, CE on the
    softmax output (double softmax), one random forward pass per step and no EOT."""
    return AttackSpec("pgd", eps, steps=40, step_size=0.01, loss="ce_on_softmax")


def craft(model: nn.Module, spec: AttackSpec, x: torch.Tensor, y: torch.Tensor,
          surrogate: nn.Module | None = None) -> torch.Tensor:
    """Adversarial examples for one batch (the clean inputs for `clean`)."""
    source = model
    if spec.transfer:
        if surrogate is None:
            raise ValueError("A transfer (black-box) attack needs a surrogate model.")
        source = surrogate
    if spec.kind == "clean" or spec.eps == 0:
        return x
    if spec.kind == "fgsm":
        return attacks.fgsm(source, x, y, spec.eps, loss=spec.loss, eot=spec.eot)
    if spec.kind in ("pgd", "cw"):
        return attacks.pgd(source, x, y, spec.eps, steps=spec.steps, step_size=spec.step_size,
                           norm=spec.norm, restarts=spec.restarts,
                           loss="cw" if spec.kind == "cw" else spec.loss, eot=spec.eot)
    return attacks.autoattack(source, x, y, spec.eps, norm=spec.norm, version=spec.version)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels of the model's current prediction mode, in batches."""
    with attacks.eval_mode(model):
        return torch.cat([model(x[i:i + batch_size]).argmax(-1) for i in range(0, len(x), batch_size)])


def prediction_mode(model: nn.Module) -> str:
    """What produced the prediction: `deterministic`, or the model's `mean`/`sample` mode."""
    if not getattr(model, "stochastic", False):
        return "deterministic"
    mode = model.predict_mode
    return f"sample (S={model.predict_samples})" if mode == "sample" else "mean"


def craft_all(source: nn.Module, spec: AttackSpec, data: TensorData, batch_size: int = 500,
              surrogate: nn.Module | None = None) -> torch.Tensor:
    """Adversarial examples for the whole of `data`, crafted on `source` (or on `surrogate` for a
    transfer attack) in batches of batch_size // eot images."""
    bs = max(1, batch_size // max(1, spec.eot))
    return torch.cat([craft(source, spec, data.images[i:i + bs], data.labels[i:i + bs], surrogate)
                      for i in range(0, len(data), bs)])


def score(model: nn.Module, data: TensorData, spec: AttackSpec, x_adv: torch.Tensor, method: str = "",
          seconds: float = 0.0, attacked: str = "reported prediction", protocol: str = "",
          per_example: bool = False, batch_size: int = 500) -> dict:
    """One tidy row: the model's current (reported) prediction scored on `x_adv`, crafted with `spec`.

    Columns: method, dataset, attack, kind, norm, eps, eps_255, steps, restarts, eot, loss, version
    (AutoAttack's), mode (the prediction that is reported), attacked (what the gradients were taken
    of), protocol, accuracy (in %), n, seconds; with `per_example`, also `correct` (a numpy bool array).
    """
    start = time.perf_counter()
    correct = predict(model, x_adv, batch_size) == data.labels
    label = spec.label + (f" x{spec.restarts} restarts" if spec.restarts > 1 else "")
    row = {
        "method": method, "dataset": data.name, "attack": label, "kind": spec.kind, "norm": spec.norm,
        "eps": spec.eps, "eps_255": round(spec.eps * 255, 2), "steps": spec.steps, "restarts": spec.restarts,
        "eot": spec.eot, "loss": spec.loss, "version": spec.version if spec.kind == "autoattack" else "",
        "mode": prediction_mode(model), "attacked": "surrogate (transfer)" if spec.transfer else attacked,
        "protocol": protocol, "accuracy": 100.0 * float(correct.float().mean()), "n": len(correct),
        "seconds": round(seconds + time.perf_counter() - start, 2),
    }
    if per_example:
        row["correct"] = correct.cpu().numpy()
    return row


@contextlib.contextmanager
def prediction(model: nn.Module, mode: str | None = None, samples: int | None = None) -> Iterator[nn.Module]:
    """Temporarily set a model's prediction mode (`mean`/`sample`) and/or its number of random
    passes (`predict_samples`: bottleneck draws, or CiiV's fixation loops); restored afterwards.
    A deterministic model is left as it is."""
    if not getattr(model, "stochastic", False):
        yield model
        return
    old_mode, old_samples = model.predict_mode, model.predict_samples
    try:
        if mode is not None:
            model.predict_mode = mode
        if samples is not None:
            model.predict_samples = samples
        yield model
    finally:
        model.predict_mode, model.predict_samples = old_mode, old_samples


def robust_accuracy(
    model: nn.Module,
    data: TensorData,
    attack_specs: list[AttackSpec],
    method: str = "",
    batch_size: int = 500,
    surrogate: nn.Module | None = None,
    attacker: nn.Module | None = None,
    protocol: str = "",
    per_example: bool = False,
) -> pd.DataFrame:
    """Accuracy of the model's current (reported) prediction under each attack, one tidy row per
    attack (columns: see `score`).

    `attacker` is what the gradients are taken of (default: the reported prediction itself; see
    `adaptive.AttackView`); `surrogate` crafts the transfer (black-box) attacks; `per_example` adds
    the per-image correctness that `adaptive.worst_case` pools over attacks.
    """
    source = model if attacker is None else attacker
    attacked = "reported prediction" if attacker is None else getattr(attacker, "description", "another model")
    rows = []
    for spec in attack_specs:
        start = time.perf_counter()
        x_adv = craft_all(source, spec, data, batch_size, surrogate)
        rows.append(score(model, data, spec, x_adv, method, time.perf_counter() - start, attacked, protocol,
                          per_example, batch_size))
    return pd.DataFrame(rows)


def white_box(eps: float, steps: int = 20, eot: int = 1) -> list[AttackSpec]:
    """Table 1/2's white-box columns at `eps`: clean, FGSM and PGD-`steps` (with EOT-`eot` gradients)."""
    return [AttackSpec("clean"), AttackSpec("fgsm", eps, eot=eot), AttackSpec("pgd", eps, steps=steps, eot=eot)]


def mean_then_sample(model: nn.Module, data: TensorData, eps_values: list[float], method: str = "",
                     steps: int = 20, eot: int = 4, extra: list[AttackSpec] = (),
                     surrogate: nn.Module | None = None, sample: bool = True) -> pd.DataFrame:
    """Table 1's rows for one model: clean, FGSM and PGD-`steps` at each eps (plus `extra` specs, e.g.
    black-box ones with `surrogate`). With `sample` and a random forward pass (VIB, CausalIB): first in
    `mean` mode, then in `sample` mode with EOT-`eot` gradients. Otherwise in the model's own prediction
    (deterministic; RS and CiiV: their sampled one), without EOT. `clean` is scored once per mode."""
    def specs(eot_: int) -> list[AttackSpec]:
        out = [AttackSpec("clean")]
        for eps in eps_values:
            out += white_box(eps, steps, eot_)[1:]
        return out + list(extra)

    if not (sample and getattr(model, "stochastic", False)):
        return robust_accuracy(model, data, specs(1), method=method, surrogate=surrogate)
    frames = []
    for mode, eot_ in (("mean", 1), ("sample", eot)):
        with prediction(model, mode):
            frames.append(robust_accuracy(model, data, specs(eot_), method=method, surrogate=surrogate))
    return pd.concat(frames, ignore_index=True)


def authors_rows(model: nn.Module, data: TensorData, eps_values: list[float], method: str = "") -> pd.DataFrame:
    """The evaluation of the public code that appears to be the authors': the model's `sample`
    prediction, FGSM without random start and PGD-40 (step 0.01, random start), both maximising
    cross-entropy applied to the returned probabilities, one random forward pass per step."""
    specs = [AttackSpec("clean")]
    for eps in eps_values:
        specs += [AttackSpec("fgsm", eps, loss="ce_on_softmax"), authors_protocol(eps)]
    with prediction(model, "sample"):
        return robust_accuracy(model, data, specs, method=method, protocol="authors")


def eps_sweep(model: nn.Module, data: TensorData, kind: str, eps_values: list[float], method: str = "",
              **spec_kwargs) -> pd.DataFrame:
    """Accuracy against eps for one attack kind (Fig. 4's unbounded-attack curves)."""
    specs = [AttackSpec(kind, eps, **spec_kwargs) for eps in eps_values]
    return robust_accuracy(model, data, specs, method=method)


def first_eps_below(sweep: pd.DataFrame, threshold: float = 50.0) -> float | None:
    """Smallest eps at which accuracy drops below `threshold` % (None if it never does)."""
    below = sweep[sweep["accuracy"] < threshold]
    return None if below.empty else float(below["eps"].min())


def sanity_checks(
    model: nn.Module,
    data: TensorData,
    eps: float,
    surrogate: nn.Module | None = None,
    tolerance: float = 1.0,
    n_classes: int = 10,
) -> pd.DataFrame:
    """The gradient-obfuscation checks of Sec. 4.6 (Carlini et al. 2019), each pass/fail.

    1/3. FGSM accuracy >= PGD-20 accuracy (a weak attack is weaker).
    2.   Black-box transfer PGD-20 accuracy >= white-box PGD-20 (only with a surrogate).
    +.   More PGD steps never raise accuracy: PGD-100 <= PGD-20.
    4.   Unbounded PGD (eps = 1) drives accuracy to chance (100/classes %) or below.
    `tolerance` (percentage points) absorbs the randomness of stochastic predictions.
    """
    specs = [AttackSpec("fgsm", eps), AttackSpec("pgd", eps, steps=20), AttackSpec("pgd", eps, steps=100)]
    if surrogate is not None:
        specs.append(AttackSpec("pgd", eps, steps=20, transfer=True))
    acc = robust_accuracy(model, data, specs, surrogate=surrogate).set_index("attack")["accuracy"]
    fgsm_a, pgd20, pgd100 = acc["FGSM"], acc["PGD-20"], acc["PGD-100"]
    unbounded = float(robust_accuracy(model, data, [AttackSpec("pgd", 1.0, steps=20)])["accuracy"].iloc[0])
    chance = 100.0 / n_classes
    rows = [
        ("FGSM >= PGD-20", fgsm_a >= pgd20 - tolerance, f"FGSM {fgsm_a:.2f} vs PGD-20 {pgd20:.2f}"),
        ("PGD-100 <= PGD-20", pgd100 <= pgd20 + tolerance, f"PGD-100 {pgd100:.2f} vs PGD-20 {pgd20:.2f}"),
        ("unbounded eps=1 -> chance or 0", unbounded <= chance + tolerance,
         f"PGD-20 at eps=1: {unbounded:.2f} (chance {chance:.1f})"),
    ]
    if surrogate is not None:
        bb = acc["black-box PGD-20"]
        rows.append(("black-box >= white-box", bb >= pgd20 - tolerance, f"black-box {bb:.2f} vs white-box {pgd20:.2f}"))
    return pd.DataFrame(rows, columns=["check", "passed", "detail"])


