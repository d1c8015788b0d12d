"""Adaptive evaluation (notebook 09): the attacks the paper lacks, and its evaluation protocol beside ours;
and how well an EOT gradient estimates the expected one (`eot_gradient_agreement`, notebook 03).

The attacks return tidy DataFrames with the columns of `evaluate.score`, including `correct`: the
per-example correctness (a numpy bool array) that `worst_case` needs to count an image as robust only
when it survives every attack. Drop `correct` (`without_examples`) before saving a table. Rows evaluated
on `data.head(n)` prefixes of one fixed subset can be combined per example. The `*_lines` functions say
in words what those tables show (the notebook prints them; its figures are in `adaptive_plots`).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import attacks, reporting
from . import workers as workers_mod
from .config import METHOD_LABELS
from .data import TensorData
from .evaluate import AttackSpec, authors_protocol, craft_all, robust_accuracy, score
from .models import eval_mode


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
        if not self.model.stochastic:
            return "reported prediction"
        with self.model.prediction(self.mode, self.samples):
            return self.model.prediction_label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.model.prediction(self.mode, self.samples):
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
    with model.prediction("sample"):
        specs = [AttackSpec("pgd", eps, steps=steps, eot=e) for e in eot_values]
        return evaluate(model, data, specs, method, batch_size=batch_size, protocol="EOT curve")


def eot_gradient_agreement(model: nn.Module, data: TensorData, eot_values: Sequence[int], reference: int = 64,
                           method: str = "", seed: int = 0) -> pd.DataFrame:
    """How well an EOT-k input gradient of the model's current prediction estimates the expected gradient
    (notebook 03): for each k of `eot_values`, one EOT-k gradient of the cross-entropy per image set beside a
    reference EOT gradient over `reference` other random passes. Columns: method, mode, eot, cosine (between
    the two gradients, mean over images), sign agreement (% of pixels whose signed step, the one FGSM and PGD
    take, is the same), n, reference. A deterministic prediction agrees fully at every k."""
    if isinstance(reference, bool) or not isinstance(reference, int) or reference < 1:
        raise ValueError(f"reference must be an integer >= 1 (random passes averaged), got {reference!r}.")
    attacks.check_batch(model, data.images, data.labels)
    x, y = data.images, data.labels
    torch.manual_seed(seed)
    rows = []
    with eval_mode(model):
        expected = attacks.input_gradient(model, x, y, eot=reference).flatten(1)
        for k in eot_values:
            attacks.check_settings(eot=k)
            g = attacks.input_gradient(model, x, y, eot=k).flatten(1)
            rows.append({"method": method, "mode": model.prediction_label, "eot": k,
                         "cosine": float(F.cosine_similarity(g, expected, dim=1).mean()),
                         "sign agreement": 100.0 * float((g.sign() == expected.sign()).float().mean()),
                         "n": len(y), "reference": reference})
    return pd.DataFrame(rows)


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
            with model.prediction(reported):
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
    random = model.is_random
    authors = authors_protocol(eps if authors_eps is None else authors_eps)
    one_pass = AttackView(model, "sample", authors_samples) if random else None
    plan = {
        "authors": (authors, one_pass),
        "authors + logits": (replace(authors, loss="ce"), one_pass),
        "authors + reported prediction": (authors, None),
        "sound": (AttackSpec("pgd", eps, steps=steps, eot=eot if random else 1), None),
    }
    frames = []
    for name in protocols:
        if not random and name == "authors + reported prediction":
            continue  # identical to `authors` when the prediction is deterministic
        spec, attacker = plan[name]
        frames.append(evaluate(model, data, [spec], method, attacker=attacker, batch_size=batch_size, protocol=name))
    return pd.concat(frames, ignore_index=True)


def reported_predictions(models: dict[str, nn.Module]) -> Iterator[tuple[str, nn.Module]]:
    """(method, model) for every prediction we report: deterministic models as they are, VIB-style
    models in `mean` and then `sample` mode (restored afterwards), CiiV with its fixation loops."""
    for method, model in models.items():
        if model.stochastic and model.input_sampler is None:
            for mode in ("mean", "sample"):
                with model.prediction(mode):
                    yield method, model
        else:
            yield method, model


def _autoattack_job(model: nn.Module, mode: str | None, data: TensorData, specs: list[AttackSpec], method: str,
                    version: str, threads: int | None) -> pd.DataFrame:
    """One reported prediction's AutoAttack rows: a worker's job in `autoattack`, or run in this process. Its
    random draws start from seed 0 whichever process runs it, in whichever order (the caller's are untouched)."""
    with torch.random.fork_rng(devices=[]), torch_threads(threads), model.prediction(mode):
        torch.manual_seed(0)
        return evaluate(model, data, specs, method=method).assign(version=version)


def autoattack(models: dict[str, dict[str, nn.Module]], data: dict[str, TensorData], sizes: dict[str, int],
               linf_eps: float, l2_eps: float | None = None, threads: int | None = None,
               workers: int | str = "auto") -> tuple[pd.DataFrame, list[str]]:
    """AutoAttack (L-inf at `linf_eps`, and L2 at `l2_eps` unless None) on every reported prediction of the models
    of each dataset (`models[dataset][method]`, attacked on `data[dataset]`; Table 4 in notebook 09, Table 5 in 10):
    `standard` on deterministic predictions, `rand` (EOT) on random ones, each on the first
    `sizes["aa_limit" | "aa_rand_limit" | "aa_ciiv_limit"]` images (see `subset_sizes`), on `threads` CPU threads.
    On a CPU with two cores the predictions are attacked by two one-thread processes at once, the costliest
    first (`workers.count`; AutoAttack's many small steps barely use a second thread). Returns the rows in the
    order of the predictions (with the clean accuracy; each row's `version` is the one used on its prediction)
    and a line per prediction skipped because its subset size is 0."""
    jobs, cost, skipped = [], [], []
    for dataset, ms in models.items():
        for m, model in reported_predictions(ms):
            version = "rand" if model.is_random else "standard"
            n = sizes["aa_ciiv_limit"] if m == "ciiv" else sizes["aa_rand_limit"] if model.is_random else sizes["aa_limit"]
            if n == 0:
                skipped.append(f"{dataset} / {METHOD_LABELS[m]} [{model.prediction_label}]: AutoAttack {version} "
                               f"skipped (subset size 0)")
                continue
            specs = [AttackSpec("clean"), AttackSpec("autoattack", linf_eps, norm="linf", version=version)]
            if l2_eps is not None:
                specs.append(AttackSpec("autoattack", l2_eps, norm="l2", version=version))
            mode = model.predict_mode if model.stochastic else None
            jobs.append((model, mode, data[dataset].head(n), specs, m, version, threads))
            passes = model.predict_samples if model.is_random else 1  # random passes per prediction
            cost.append(n * passes * (2 if version == "rand" else 1))  # rand: 20 EOT passes per step
    if not jobs:
        return pd.DataFrame(), skipped
    processes = workers_mod.count(len(jobs), jobs[0][2].images.device, workers)
    if processes == 1:
        frames = [_autoattack_job(*job) for job in jobs]
    else:
        order = sorted(range(len(jobs)), key=lambda i: -cost[i])
        done = workers_mod.starmap(_autoattack_job, [jobs[i] for i in order], processes)
        frames = [frame for _, frame in sorted(zip(order, done), key=lambda pair: pair[0])]
    return pd.concat(frames, ignore_index=True), skipped


def without_examples(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the per-example `correct` column (for saving and display)."""
    return table.drop(columns=["correct"], errors="ignore")


def worst_case(table: pd.DataFrame, by: Sequence[str] = ("dataset", "method", "mode", "norm", "eps_255")) -> pd.DataFrame:
    """Robust accuracy = what the strongest attack found, per model, reported prediction and budget.

    `min_accuracy` is the lowest accuracy of any single attack (on that row's own `n`);
    `per_example_accuracy` counts an image as robust only if it survived every attack, computed on
    the first `per_example_n` images (the smallest `n` in the group; rows must come from `head`
    prefixes of one fixed subset, `TensorData.head`). It is never above the accuracy of any single attack on the same
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


def subset_sizes(profile: str, attack_limit: int, overrides: dict | None = None) -> dict[str, int]:
    """Images per kind of row in notebook 09 at `profile` (`overrides` replaces some). AutoAttack
    `standard` runs 4 attacks (APGD-T and FAB-T over 9 target classes, Square with 5000 queries); `rand`
    runs APGD with 20 EOT passes per step; CiiV's prediction runs 9 fixation loops (about 10x an MLP
    pass), hence the smaller subsets for them. At `quick` the notebook aims at a class's 15 minutes on an idle
    2-core CPU (16.4 min at 3e4d923) at the price of wider standard errors (at 50% accuracy): CW-20, the protocol
    study and the checklist on 300 images (2.9 points; CiiV 100: 5.0), the curves on 100 (5.0; CiiV 50: 7.1).
    The points of one curve share their images, so its shape is far more precise than any one point."""
    sizes = {
        "smoke": dict(n_eval=40, n_check=40, n_ciiv=12, n_curve=24, n_curve_ciiv=8, aa_limit=4, aa_rand_limit=4,
                      aa_ciiv_limit=4),
        "quick": dict(n_eval=300, n_check=300, n_ciiv=100, n_curve=100, n_curve_ciiv=50,
                      aa_limit=30, aa_rand_limit=20, aa_ciiv_limit=10),
        "paper": {**{k: attack_limit for k in ("n_eval", "n_check", "n_ciiv", "n_curve", "n_curve_ciiv", "aa_limit")},
                  "aa_rand_limit": 1000, "aa_ciiv_limit": 1000},
    }[profile]
    unknown = set(overrides or {}) - set(sizes)
    if unknown:
        raise ValueError(f"Unknown subset sizes {sorted(unknown)}. Valid: {', '.join(sizes)}.")
    return {**sizes, **(overrides or {})}


def attack_strength_checks(curves: pd.DataFrame, protocols: pd.DataFrame, dataset: str, who: str, eot: int,
                           tolerance: float, curve_eps_255: float, paper_eps_255: float) -> pd.DataFrame:
    """Our checks, read from the adaptive curves and the protocol study, that the default attacks were
    strong enough for one reported prediction `who` ("<method label> [<mode>]"): EOT-`eot` within
    `tolerance` points of the largest EOT, PGD-20 within `tolerance` of the strongest PGD run, and the
    authors' protocol within `tolerance` of the sound one."""
    rows = []
    c = curves[(curves["dataset"] == dataset) & (curves["who"] == who)]
    e = c[c["protocol"] == "EOT curve"].sort_values("eot")
    if len(e) > 1:
        at_default = e.loc[(e["eot"] - eot).abs().idxmin()]
        rows.append((f"EOT-{int(at_default.eot)} within {tolerance} of EOT-{e.eot.max()}",
                     at_default.accuracy <= e.accuracy.iloc[-1] + tolerance,
                     f"EOT-{int(at_default.eot)} {at_default.accuracy:.2f} vs EOT-{e.eot.max()} {e.accuracy.iloc[-1]:.2f}",
                     int(e.n.iloc[0]), curve_eps_255))
    s = c[c["protocol"] == "steps curve"]
    if len(s):
        k = 20 if 20 in set(s.steps) else int(s.steps.min())  # the paper's PGD-20 (smoke: the fewest steps)
        acc_k = s[(s.steps == k) & (s.restarts == 1)].accuracy.iloc[0]
        strongest = s.loc[s.accuracy.idxmin()]
        rows.append((f"PGD-{k} within {tolerance} of the strongest PGD run", acc_k <= strongest.accuracy + tolerance,
                     f"PGD-{k} {acc_k:.2f} vs {strongest.attack} {strongest.accuracy:.2f}", int(s.n.iloc[0]),
                     curve_eps_255))
    p = protocols[(protocols["dataset"] == dataset) & (protocols["who"] == who)].set_index("protocol")
    if len(p):
        rows.append((f"authors' protocol within {tolerance} of sound",
                     p.accuracy["authors"] <= p.accuracy["sound"] + tolerance,
                     f"authors {p.accuracy['authors']:.2f} vs sound {p.accuracy['sound']:.2f}", int(p.n.iloc[0]),
                     paper_eps_255))
    return pd.DataFrame(rows, columns=["check", "passed", "detail", "n", "eps_255"]).assign(
        dataset=dataset, who=who, source="adaptive (ours)")


def worst_beside_paper(worst: pd.DataFrame, paper_eps_255: dict[str, float], aa_linf_eps_255: float) -> pd.DataFrame:
    """`worst_case` rows with the paper's number for the same model and budget (`reporting.paper_reference`):
    Table 1's PGD-20 at the paper's eps, Table 4's AA-L-inf at `aa_linf_eps_255`, Table 4's AA-L2 (its eps is
    not stated); the columns renamed for reading (robust, n_robust, strongest, strongest_acc, strongest_n)
    and sorted."""
    reference = reporting.paper_reference("table1", "table4")

    def source(r) -> tuple[str, str]:
        if r["norm"] == "linf" and r["eps_255"] == paper_eps_255[r["dataset"]]:
            return "PGD-20", "Table 1 PGD-20"
        if r["norm"] == "linf" and r["eps_255"] == aa_linf_eps_255:
            return "AA-LINF", "Table 4 AA-Linf"
        if r["norm"] == "l2":
            return "AA-L2", "Table 4 AA-L2 (eps not stated)"
        return "", ""

    out = worst.copy()
    sources = [source(r) for _, r in out.iterrows()]
    out["paper"] = [reference.get((d, m, a), (float("nan"),))[0]
                    for d, m, (a, _) in zip(out["dataset"], out["method"], sources)]
    out["paper_source"] = [src if a else "" for a, src in sources]
    out["diff"] = out["per_example_accuracy"] - out["paper"]
    out = out.rename(columns={"per_example_accuracy": "robust", "per_example_n": "n_robust",
                              "strongest_attack": "strongest", "min_accuracy": "strongest_acc", "min_n": "strongest_n"})
    return out.sort_values(["dataset", "norm", "eps_255"], ascending=[True, False, False], kind="stable")


def with_who(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with a `who` column naming each row's reported prediction, "<method label> [<mode>]" (the
    mode is the model's `prediction_label`), as the checks and figures of notebook 09 group rows."""
    return table.assign(who=[f"{METHOD_LABELS[m]} [{mode}]" for m, mode in zip(table["method"], table["mode"])])


def protocol_gap_lines(protocols: pd.DataFrame, datasets: Sequence[str]) -> list[str]:
    """In words, per dataset: how much more accuracy the authors-style protocol reports than the sound one
    (`protocols`: notebook 09's pivot, a row per (dataset, who, n), a column per protocol and
    `authors - sound`), and, with random predictions, what each of its two shortcuts changes."""
    lines = []
    for d in datasets:
        sub = protocols.loc[d]
        gap = sub["authors - sound"]
        lines.append(f"{d}: the authors-style protocol reports {gap.mean():.1f} points more accuracy than the sound one "
                     f"on average (largest: {gap.idxmax()[0]}, {gap.max():.1f} points; n per row in the table).")
        if any("sample" in w for w in sub.index.get_level_values("who")):
            one_pass = (sub["authors + reported prediction"] - sub["authors"]).dropna()
            lines.append(f"   attacking the reported prediction instead of one random pass changes accuracy by "
                         f"{one_pass.mean():+.1f} points on average on the random predictions; using logits instead "
                         f"of the softmax by {(sub['authors + logits'] - sub['authors']).mean():+.1f}.")
    return lines


def worst_case_lines(worst: pd.DataFrame, tolerance: float) -> list[str]:
    """A sentence per `worst_beside_paper` row that has a paper number: our pooled robust accuracy, the
    strongest single attack, and whether we are within `tolerance` points of the paper, or how far off."""
    lines = []
    for _, r in worst.dropna(subset=["paper"]).iterrows():
        budget = f"L2 eps={r.eps_255 / 255:.2f}" if r.norm == "l2" else f"L-inf eps={r.eps_255:g}/255"
        verdict = (f"{-r['diff']:.1f} points lower than" if r["diff"] < -tolerance else
                   f"{r['diff']:.1f} points higher than" if r["diff"] > tolerance else f"within {tolerance} points of")
        pooled = f"all {r.attacks} attacks" if r.attacks > 1 else "one attack"
        lines.append(f"{r.dataset} / {METHOD_LABELS[r.method]} [{r['mode']}], {budget}: robust accuracy {r.robust:.1f}% "
                     f"({pooled}, n={r.n_robust}; strongest single: {r.strongest} {r.strongest_acc:.1f}%, "
                     f"n={r.strongest_n}) is {verdict} the paper's {r.paper:.1f}% ({r.paper_source}).")
    return lines


def most_robust_lines(worst: pd.DataFrame, paper_eps_255: dict[str, float], methods: Sequence[str]) -> list[str]:
    """Per dataset of `paper_eps_255`: the most robust of our predictions under every attack at the paper's
    budget (`worst_beside_paper` rows), beside the paper's best PGD-20 number (Table 1) among `methods`."""
    table1 = reporting.paper_reference("table1")
    lines = []
    for d, eps_255 in paper_eps_255.items():
        sub = worst[(worst.dataset == d) & (worst.norm == "linf") & (worst.eps_255 == eps_255)]
        sub = sub.set_index(["method", "mode"])["robust"]
        best, theirs = sub.idxmax(), {m: table1[d, m, "PGD-20"][0] for m in methods}
        top = max(theirs, key=theirs.get)
        lines.append(f"{d}, eps={eps_255}/255: the most robust prediction under all attacks is "
                     f"{METHOD_LABELS[best[0]]} [{best[1]}] with {sub.max():.1f}%; the paper reports "
                     f"{theirs[top]:.1f}% for its best model ({METHOD_LABELS[top]}) under PGD-20.")
    return lines
