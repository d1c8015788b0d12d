"""Scoring: the one path from an `AttackSpec` to adversarial examples (`craft`) and to a tidy row of
accuracy (`score`, `robust_accuracy`), with the tables built on it: eps sweeps and their 50% crossings
(Fig. 4), and the Sec. 4.6 sanity checks."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

import pandas as pd
import torch
from torch import nn

from . import attacks
from .data import TensorData
from .models import eval_mode

ATTACK_KINDS = ("clean", "fgsm", "pgd", "cw", "autoattack", "authors_pgd")
# What each kind of attack uses besides eps; every other option must stay at its default (`_UNUSED`), so that a
# row's label and columns never name an option that did not act.
_USES = {"clean": (), "fgsm": ("eot", "loss", "transfer"),
         "pgd": ("steps", "step_size", "restarts", "eot", "loss", "norm", "transfer", "random_start"),
         "cw": ("steps", "step_size", "restarts", "eot", "norm", "transfer", "random_start"),
         "autoattack": ("norm", "version", "transfer"), "authors_pgd": ("steps", "step_size", "loss", "transfer")}
_UNUSED = {"steps": 0, "step_size": None, "restarts": 1, "eot": 1, "loss": "ce", "norm": "linf",
           "version": "standard", "transfer": False, "random_start": True}
_WHY = {("fgsm", "norm"): "FGSM here is the L-inf sign step; for an L2 attack use AttackSpec('pgd', eps, norm='l2')",
        ("autoattack", "eot"): "AutoAttack's `rand` version does its own EOT: use version='rand'",
        ("authors_pgd", "eot"): "the authors' PGD takes one random pass per step",
        ("authors_pgd", "random_start"): "the authors' PGD always starts at a random point",
        ("authors_pgd", "norm"): "the authors' PGD is an L-inf attack"}


@dataclass(frozen=True)
class AttackSpec:
    """One attack setting. `kind` in clean/fgsm/pgd/cw/autoattack; `norm` linf or l2.

    `eps` is one budget (a float) or a tensor with one budget per image (FGSM, PGD and CW only; the
    minimal-eps search attacks every image at its own budget). `eot` random forward passes are
    averaged per gradient; `loss` is ce, cw or ce_on_softmax; `version` is AutoAttack's (`standard`
    or `rand`); `transfer` marks a black-box attack crafted on a surrogate model; `random_start`
    (PGD, CW) starts each run at a random point of the ball.
    """

    kind: str = "clean"
    eps: float | torch.Tensor = 0.0
    steps: int = 0
    step_size: float | None = None
    restarts: int = 1
    eot: int = 1
    loss: str = "ce"
    norm: str = "linf"
    version: str = "standard"
    transfer: bool = False
    random_start: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"Unknown attack {self.kind!r}. Valid: {', '.join(ATTACK_KINDS)}.")
        attacks.check_eps(self.eps, self.norm)
        if self.per_image and (self.kind == "autoattack" or self.eps.dim() != 1):
            raise ValueError("A tensor eps holds one budget per image (shape (N,)) and works with fgsm, pgd and "
                             f"cw; got shape {tuple(self.eps.shape)} for {self.kind!r}: pass a float instead.")
        steps = self.steps if self.kind in ("pgd", "cw", "authors_pgd") else 1
        attacks.check_settings(steps, self.step_size, self.restarts, self.eot, self.loss)
        if self.version not in ("standard", "rand"):
            raise ValueError(f"Unknown AutoAttack version {self.version!r}. Valid: standard, rand.")
        if self.kind == "clean" and bool((torch.as_tensor(self.eps) != 0).any()):
            raise ValueError(f"AttackSpec('clean') has no budget: leave eps at 0 (got {self.eps!r}).")
        for name, default in _UNUSED.items():
            value = getattr(self, name)
            if name in _USES[self.kind] or value == default or (self.kind == "cw" and name == "loss" and value == "cw"):
                continue
            if self.kind in ("fgsm", "autoattack", "clean") and name == "random_start":
                continue  # no start point to randomise: False and True mean the same
            why = _WHY.get((self.kind, name), f"{self.kind} does not use it")
            raise ValueError(f"AttackSpec({self.kind!r}) got {name}={value!r}, which it would ignore ({why}); "
                             f"{self.kind} uses {', '.join(('eps',) + _USES[self.kind])}.")

    @property
    def per_image(self) -> bool:
        """True when `eps` is a tensor of per-image budgets."""
        return torch.is_tensor(self.eps)

    @property
    def no_budget(self) -> bool:
        """True when the attack cannot move any image (clean, or eps 0 everywhere)."""
        return self.kind == "clean" or bool((torch.as_tensor(self.eps) == 0).all())

    def batch(self, start: int, stop: int) -> "AttackSpec":
        """The spec for images start:stop (a per-image eps is sliced with them)."""
        return replace(self, eps=self.eps[start:stop]) if self.per_image else self

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        name = {"fgsm": "FGSM", "pgd": f"PGD-{self.steps}", "cw": f"CW-{self.steps}",
                "autoattack": f"AA-{self.norm.upper()}", "authors_pgd": f"authors' PGD-{self.steps}"}[self.kind]
        if self.norm == "l2" and self.kind != "autoattack":
            name += "-L2"
        if self.eot > 1:
            name += f" EOT-{self.eot}"
        if self.loss == "ce_on_softmax":
            name += " (softmax-CE)"
        elif self.loss == "cw" and self.kind == "pgd":
            name += " (CW loss)"
        if self.per_image:
            name += " (per-image eps)"
        if self.restarts > 1:
            name += f" x{self.restarts} restarts"
        return ("black-box " if self.transfer else "") + name


def paper_attacks(eps: float) -> list[AttackSpec]:
    """Table 1's columns: clean, FGSM and PGD-20 at `eps` (50/255 on MNIST/FashionMNIST)."""
    return [AttackSpec("clean"), AttackSpec("fgsm", eps), AttackSpec("pgd", eps, steps=20)]


def authors_protocol(eps: float = 0.3) -> AttackSpec:
    """The attack of the public code that appears to be the authors': PGD-40, step 0.01, CE on the
    softmax output (double softmax), one random forward pass per step and no EOT."""
    return AttackSpec("pgd", eps, steps=40, step_size=0.01, loss="ce_on_softmax")


def authors_pgd(eps: float) -> AttackSpec:
    """The PGD of the public code that appears to be the authors', as it computes it
    (`attacks.authors_pgd`: gradients at a random offset, the perturbation applied at the clean image),
    with their defaults: 40 steps of 0.01 on CE of the probabilities, one random pass per step."""
    return AttackSpec("authors_pgd", eps, steps=40, step_size=0.01, loss="ce_on_softmax")


def craft(model: nn.Module, spec: AttackSpec, x: torch.Tensor, y: torch.Tensor,
          surrogate: nn.Module | None = None) -> torch.Tensor:
    """Adversarial examples for one batch (the clean inputs for `clean`)."""
    source = model
    if spec.transfer:
        if surrogate is None:
            raise ValueError("A transfer (black-box) attack needs a surrogate model.")
        source = surrogate
    if spec.no_budget:
        return x
    if spec.kind == "fgsm":
        return attacks.fgsm(source, x, y, spec.eps, loss=spec.loss, eot=spec.eot)
    if spec.kind in ("pgd", "cw"):
        return attacks.pgd(source, x, y, spec.eps, steps=spec.steps, step_size=spec.step_size,
                           norm=spec.norm, random_start=spec.random_start, restarts=spec.restarts,
                           loss="cw" if spec.kind == "cw" else spec.loss, eot=spec.eot)
    if spec.kind == "authors_pgd":
        step = {} if spec.step_size is None else {"step_size": spec.step_size}
        return attacks.authors_pgd(source, x, y, spec.eps, steps=spec.steps, loss=spec.loss, **step)
    return attacks.autoattack(source, x, y, spec.eps, norm=spec.norm, version=spec.version)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels of the model's current prediction mode, in batches."""
    _check_batch_size(batch_size)
    with eval_mode(model):
        return torch.cat([model(x[i:i + batch_size]).argmax(-1) for i in range(0, len(x), batch_size)])


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1 (images per batch), got {batch_size!r}.")


@contextlib.contextmanager
def predicting(models: Iterable[nn.Module], mode: str) -> Iterator[None]:
    """Every model (a dict's values, or any iterable) predicts in `mode` inside the block, through
    `model.prediction(mode)` (deterministic models are left as they are); restored afterwards."""
    models = models.values() if isinstance(models, dict) else models
    with contextlib.ExitStack() as stack:
        for model in models:
            stack.enter_context(model.prediction(mode))
        yield


def correct_by_all(models: Iterable[nn.Module], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Indices of the images every model classifies correctly (in its current prediction)."""
    correct = torch.ones_like(y, dtype=torch.bool)
    for model in (models.values() if isinstance(models, dict) else models):
        correct &= predict(model, x) == y
    return correct.nonzero().squeeze(1)


def craft_all(source: nn.Module, spec: AttackSpec, data: TensorData, batch_size: int = 500,
              surrogate: nn.Module | None = None) -> torch.Tensor:
    """Adversarial examples for the whole of `data`, crafted on `source` (or on `surrogate` for a
    transfer attack) in batches of batch_size // eot images."""
    _check_batch_size(batch_size)
    bs = max(1, batch_size // max(1, spec.eot))
    return torch.cat([craft(source, spec.batch(i, i + bs), data.images[i:i + bs], data.labels[i:i + bs], surrogate)
                      for i in range(0, len(data), bs)])


def score(model: nn.Module, data: TensorData, spec: AttackSpec, x_adv: torch.Tensor, method: str = "",
          seconds: float = 0.0, attacked: str = "reported prediction", protocol: str = "",
          per_example: bool = False, batch_size: int = 500) -> dict:
    """One tidy row: the model's current (reported) prediction scored on `x_adv`, crafted with `spec`.

    Columns: method, dataset, attack, kind, norm, eps, eps_255, steps, restarts, eot, loss, version
    (AutoAttack's), mode (the prediction that is reported), attacked (what the gradients were taken
    of), protocol, accuracy (in %), n, seconds; with `per_example`, also `correct` (a numpy bool array).
    A per-image eps (a tensor) has no single budget: eps and eps_255 are NaN and the attack's name says
    `(per-image eps)`.
    """
    start = time.perf_counter()
    correct = predict(model, x_adv, batch_size) == data.labels
    row = {
        "method": method, "dataset": data.name, "attack": spec.label, "kind": spec.kind, "norm": spec.norm,
        "eps": math.nan if spec.per_image else spec.eps,
        "eps_255": math.nan if spec.per_image else round(spec.eps * 255, 2), "steps": spec.steps, "restarts": spec.restarts,
        "eot": spec.eot, "loss": spec.loss, "version": spec.version if spec.kind == "autoattack" else "",
        "mode": model.prediction_label, "attacked": "surrogate (transfer)" if spec.transfer else attacked,
        "protocol": protocol, "accuracy": 100.0 * float(correct.float().mean()), "n": len(correct),
        "seconds": round(seconds + time.perf_counter() - start, 2),
    }
    if per_example:
        row["correct"] = correct.cpu().numpy()
    return row


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
    _check_batch_size(batch_size)
    if len(data) == 0:
        raise ValueError(f"data ({data.name}, {data.split}) holds no images: an accuracy over zero images is no "
                         f"number; give at least one (e.g. limit >= 1).")
    attacks.check_batch(model, data.images, data.labels)  # NaN pixels, wrong dtypes: refused before any attack
    bad = [s for s in attack_specs if not isinstance(s, AttackSpec)]
    if bad:
        raise ValueError(f"attack_specs must be a list of AttackSpec, got {bad[0]!r} among them.")
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

    if not (sample and model.stochastic):
        return robust_accuracy(model, data, specs(1), method=method, surrogate=surrogate)
    frames = []
    for mode, eot_ in (("mean", 1), ("sample", eot)):
        with model.prediction(mode):
            frames.append(robust_accuracy(model, data, specs(eot_), method=method, surrogate=surrogate))
    return pd.concat(frames, ignore_index=True)


def authors_rows(model: nn.Module, data: TensorData, eps_values: list[float], method: str = "") -> pd.DataFrame:
    """The evaluation of the public code that appears to be the authors': the model's `sample`
    prediction, FGSM without random start and PGD-40 (step 0.01, random start), both maximising
    cross-entropy applied to the returned probabilities, one random forward pass per step."""
    specs = [AttackSpec("clean")]
    for eps in eps_values:
        specs += [AttackSpec("fgsm", eps, loss="ce_on_softmax"), authors_protocol(eps)]
    with model.prediction("sample"):
        return robust_accuracy(model, data, specs, method=method, protocol="authors")


def authors_pgd_rows(model: nn.Module, data: TensorData, eps_values: list[float], method: str = "") -> pd.DataFrame:
    """The authors' PGD as their code computes it (`authors_pgd`) at each eps, on the model's reported
    prediction as their code evaluates it: `sample` for a random model (VIB, CausalIB), else deterministic."""
    specs = [authors_pgd(eps) for eps in eps_values]
    with model.prediction("sample"):
        return robust_accuracy(model, data, specs, method=method, protocol="authors_pgd")


def eps_sweep(model: nn.Module, data: TensorData, kind: str, eps_values: list[float], method: str = "",
              **spec_kwargs) -> pd.DataFrame:
    """Accuracy against eps for one attack kind (Fig. 4's unbounded-attack curves)."""
    specs = [AttackSpec(kind, eps, **spec_kwargs) for eps in eps_values]
    return robust_accuracy(model, data, specs, method=method)


def first_eps_below(sweep: pd.DataFrame, threshold: float = 50.0) -> float | None:
    """Smallest eps at which accuracy drops below `threshold` % (None if it never does)."""
    below = sweep[sweep["accuracy"] < threshold]
    return None if below.empty else float(below["eps"].min())


def _curves(sweep: pd.DataFrame):
    """(panel, curve, rows sorted by eps) for every curve of a sweep with `panel` and `curve` columns."""
    for panel in dict.fromkeys(sweep["panel"]):
        for curve, c in sweep[sweep["panel"] == panel].groupby("curve", sort=False):
            yield panel, curve, c.sort_values("eps")


def crossing_table(sweep: pd.DataFrame, paper_crossings: dict[str, int] | None = None,
                   paper_panel: str = "FGSM", threshold: float = 50.0) -> pd.DataFrame:
    """Fig. 4's 50% crossings: per curve of `sweep` (columns panel, curve, method, mode, eps, eps_255,
    accuracy, n), `ours_255` = the first grid eps (in /255) below `threshold` % ("never" if none), its
    bracket on the grid, and beside the `paper_panel` curves of the mean (or deterministic) prediction
    the paper's crossing (`paper_crossings`, by method) and the difference ours - paper."""
    grid = sorted(e for e in set(sweep["eps_255"]) if e > 0)
    rows = []
    for panel, curve, c in _curves(sweep):
        cross = first_eps_below(c, threshold)
        ours = None if cross is None else round(cross * 255)
        m, mode = c["method"].iloc[0], c["mode"].iloc[0]
        ref = None
        if panel == paper_panel and mode in ("mean", "deterministic"):
            ref = (paper_crossings or {}).get(m)
        rows.append({"panel": panel, "curve": curve, "method": m, "mode": mode,
                     "ours_255": "never" if ours is None else ours, "n": int(c["n"].iloc[0]),
                     "bracket (/255)": ("" if ours is None else "clean < 50%" if ours == 0
                                        else f"({max([0] + [round(e) for e in grid if e < ours])}, {ours}]"),
                     "paper_255": "" if ref is None else ref,
                     "diff_255": "" if ours is None or ref is None else ours - ref})
    return pd.DataFrame(rows)


def _crossing(cross: pd.DataFrame, panel: str, method: str, sampled: bool = False) -> float | None:
    """One curve's crossing in /255 (inf: never below 50%), None when that curve was not run."""
    rows = cross[(cross["panel"] == panel) & (cross["method"] == method)
                 & (cross["curve"].str.contains("sample") == sampled)]
    if rows.empty:
        return None
    ours = rows["ours_255"].iloc[0]
    return math.inf if ours == "never" else ours


def _show(e: float) -> str:
    return "never" if e == math.inf else ("eps 0 (clean accuracy < 50%)" if e == 0 else f"{e}/255")


def crossing_sentences(sweep: pd.DataFrame, cross: pd.DataFrame, paper_crossings: dict[str, int],
                       labels: dict[str, str], first: str = "causalib", second: str = "vib") -> list[str]:
    """Fig. 4 in words, generated from the numbers: per panel, which of `first` and `second` (mean
    mode) drops below 50% first; the paper's FGSM crossings beside ours; and the PGD accuracy gap
    first - second over the budgets."""
    a, b, n = labels.get(first, first), labels.get(second, second), int(sweep["n"].iloc[0])
    lines = []
    for panel in dict.fromkeys(sweep["panel"]):
        v, c = _crossing(cross, panel, second), _crossing(cross, panel, first)
        if v is None or c is None:
            continue
        verdict = "later than" if c > v else ("at the same grid point as" if c == v else "earlier than")
        lines.append(f"{panel} (mean mode, n={n}): {a} drops below 50% at {_show(c)}, {b} at {_show(v)}: "
                     f"{a} crosses {verdict} {b}.")
    for m, e in paper_crossings.items():
        if _crossing(cross, "FGSM", m) is not None:
            lines.append(f"  paper, FGSM: {labels.get(m, m)} at {e}/255; ours (mean mode) {_show(_crossing(cross, 'FGSM', m))}")
    for panel in [p for p in dict.fromkeys(sweep["panel"]) if p.startswith("PGD")]:
        pgd = sweep[(sweep.panel == panel) & (sweep.eps > 0)].pivot_table(index="eps_255", columns="method",
                                                                          values="accuracy")
        if {first, second} <= set(pgd.columns):
            gap = pgd[first] - pgd[second]
            lines.append(f"{panel}: {a} minus {b} accuracy over the {len(gap)} budgets: mean {gap.mean():+.1f}, "
                         f"max {gap.max():+.1f} at {gap.idxmax():.0f}/255, min {gap.min():+.1f} points "
                         f"(the paper: 'about 20% better').")
    return lines


def sweep_checks(sweep: pd.DataFrame, chance: float, tolerance: float, rise: float = 1.0) -> pd.DataFrame:
    """Sanity check 4 on an eps sweep: per curve, is accuracy at the largest eps at `chance` (%) +
    `tolerance` points or below (`passed`), and is the curve monotone (no rise of more than `rise`
    points from one budget to the next; `largest rise` says where it is not)?"""
    top = sweep["eps_255"].max()
    checks = []
    for panel, curve, c in _curves(sweep):
        last = c[c["eps_255"] == top]
        if last.empty:
            continue
        r = last.iloc[0]
        rises = c["accuracy"].diff()
        worst = rises.max()
        checks.append({"panel": panel, "curve": curve, "mode": r["mode"], "eps_255": r["eps_255"],
                       "accuracy": round(r["accuracy"], 2), "n": r["n"], "passed": r["accuracy"] <= chance + tolerance,
                       "monotone": not (worst > rise),
                       "largest rise": f"{worst:+.1f} at {c['eps_255'].iloc[int(rises.fillna(-1e9).values.argmax())]:.0f}/255"
                                       if worst > rise else ""})
    return pd.DataFrame(checks)


def sweep_checks_report(checks: pd.DataFrame, chance: float, tolerance: float) -> str:
    """`sweep_checks` in words: how many curves pass (PASS/FAIL), then each failure and each non-monotone curve."""
    n_pass = int(checks["passed"].sum())
    lines = [f"Sanity check 4 at eps = {int(checks['eps_255'].max())}/255 (n={int(checks['n'].iloc[0])}): {n_pass} of "
             f"{len(checks)} curves are at chance ({chance:.0f}%) + {tolerance} points or below -> "
             f"{'PASS' if n_pass == len(checks) else 'FAIL'}"]
    lines += [f"  FAIL: {r['panel']} / {r['curve']}: {r['accuracy']:.2f}% at {r['eps_255']:.0f}/255"
              for _, r in checks[~checks["passed"]].iterrows()]
    lines += [f"  not monotone: {r['panel']} / {r['curve']}: accuracy rises by {r['largest rise']}"
              for _, r in checks[~checks["monotone"]].iterrows()]
    return "\n".join(lines)


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


