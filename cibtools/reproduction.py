"""Part 4 of the verdict, read from the paper-settings rows: the input scaling on every model, and the
paper's Table 1 row by row with the combination of ours that comes closest to each number.

A *combination* is one way of producing a number: the model variant (`paper_settings.VARIANTS`: ours, the
authors' bottleneck or baseline, [-1, 1] inputs, ...), the protocol (`sound`, the authors' evaluation
`authors`, or their PGD as their code computes it, `authors_pgd`), the prediction mode and the attack.
These tables only report what the rows say; the conclusion is written from them, whatever they show.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import paper
from .config import METHOD_LABELS
from .data import DATASET_NAMES

PAPER_COLUMNS = ("clean", "FGSM", "PGD-20")
# How each variant changes the model, in words (variants not listed are named as they are).
VARIANT_WORDS = {
    "ours": "ours", "authors": "the authors' model", "alemi": "ours, Alemi's optimiser",
    "signed": "ours, inputs in [-1, 1]", "signed_init": "ours, [0, 1] inputs, first layer started as the [-1, 1] one",
    "dark_bias_lr": "ours, first-layer bias lr x (1 + always-dark pixels)",
    "doubled": "ours, inputs x * 2 (in [0, 2])", "shifted": "ours, inputs x - 1 (in [-1, 0])",
    "authors_unit_input": "the authors' model, inputs in [0, 1]",
    "authors_linear_heads": "the authors' model, one Linear per head",
    "authors_softplus_sigma": "the authors' model, softplus std", "authors_1draw": "the authors' model, 1 draw",
}
# The variant pairs that differ only in the input scaling: (inputs in [0, 1], inputs in [-1, 1]).
SCALING_PAIRS = (("ours", "signed"), ("authors_unit_input", "authors"))
SCALING_COLUMNS = ["dataset", "method", "variant", "inputs", "seeds", "clean", "PGD-20 8", "PGD-20 16", "PGD-20 50",
                   "AA 16"]
CLOSEST_COLUMNS = ["dataset", "method", "column", "paper", "closest", "ours", "distance", "seeds", "AA 50"]


def paper_column(kind: str) -> str | None:
    """The Table 1 column an attack kind stands in for (every PGD, the authors' included, for `PGD-20`)."""
    return {"clean": "clean", "fgsm": "FGSM", "pgd": "PGD-20", "authors_pgd": "PGD-20"}.get(kind)


def describe(variant: str, protocol: str, mode: str, attack: str) -> str:
    """One combination in words, e.g. "the authors' model, authors_pgd, sample, authors' PGD-40 (softmax-CE)"."""
    return f"{VARIANT_WORDS.get(variant, variant)}; {protocol} protocol; {mode} prediction; {attack}"


def _autoattack(strong: pd.DataFrame | None, shard: str, eps_255: float) -> float:
    """AutoAttack's accuracy on `shard` at `eps_255` on the most images it was run on (nan when not run)."""
    if strong is None or not len(strong):
        return np.nan
    aa = strong[(strong["shard"] == shard) & (strong["kind"] == "autoattack")
                & np.isclose(strong["eps_255"].astype(float), eps_255)]
    return float(aa.sort_values("n")["accuracy"].iloc[-1]) if len(aa) else np.nan


def closest_to_paper(rows: pd.DataFrame, strong: pd.DataFrame | None = None, eps_255: float = 50,
                     methods: tuple[str, ...] = ("baseline", "vib", "causalib"),
                     datasets: tuple[str, ...] = ("mnist", "fashion_mnist")) -> pd.DataFrame:
    """For each of the paper's Table 1 numbers (clean, FGSM, PGD-20 at `eps_255`) of `methods` on `datasets`:
    the combination of 50-epoch rows (mean over its seeds) closest to it, our number, the distance in points
    (ours - paper), the seeds behind it, and what AutoAttack at the same budget leaves of that combination's
    seed-0 model (`strong` rows; nan where it was not run). The mechanism tests (`MECHANISM_TESTS`) are
    diagnostics, not ways the paper could have been run: they are not candidates. Of two equally close
    combinations, the one with more seeds is taken."""
    sel = rows[(rows["epochs"] == 50) & ((rows["kind"] == "clean") | np.isclose(rows["eps_255"], eps_255))
               & ~rows["variant"].isin(list(MECHANISM_TESTS))]
    sel = sel.assign(column=sel["kind"].map(paper_column)).dropna(subset=["column"])
    out = []
    for d in datasets:
        for m in methods:
            mine = sel[(sel["dataset"] == d) & (sel["method"] == m)]
            means = (mine.groupby(["column", "variant", "protocol", "mode", "attack"])
                     .agg(ours=("accuracy", "mean"), seeds=("seed", "nunique")).reset_index())
            for column in PAPER_COLUMNS:
                target = paper.TABLE1[d][m][column][0]
                cand = means[means["column"] == column]
                if not len(cand):
                    continue
                best = cand.assign(d=(cand["ours"] - target).abs()).sort_values(["d", "seeds"], ascending=[True, False],
                                                                                 kind="stable").iloc[0]
                out.append({"dataset": d, "method": m, "column": column, "paper": target,
                            "closest": describe(best["variant"], best["protocol"], best["mode"], best["attack"]),
                            "ours": float(best["ours"]), "distance": float(best["ours"] - target),
                            "seeds": int(best["seeds"]),
                            "AA 50": np.nan if column == "clean" else
                            _autoattack(strong, f"{m}-{best['variant']}-{d}-s0", eps_255)})
    return pd.DataFrame(out, columns=CLOSEST_COLUMNS)


def scaling_table(rows: pd.DataFrame, strong: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every model that was trained both with inputs in [0, 1] and in [-1, 1] (`SCALING_PAIRS`), 50 epochs,
    the `mean` (or deterministic) prediction under the sound protocol: clean and PGD-20 at 8, 16 and 50/255
    (means over the seeds both scalings have), and AutoAttack at 16/255 on seed 0 (nan where not run)."""
    sel = rows[(rows["epochs"] == 50) & (rows["protocol"] == "sound") & rows["mode"].isin(["mean", "deterministic"])
               & rows["kind"].isin(["clean", "pgd"])]
    out = []
    for (d, m), g in sel.groupby(["dataset", "method"], sort=False):
        for unit, signed in SCALING_PAIRS:
            seeds = set(g[g["variant"] == unit]["seed"]) & set(g[g["variant"] == signed]["seed"])
            if not seeds:
                continue
            for variant, inputs in ((unit, "[0, 1]"), (signed, "[-1, 1]")):
                v = g[(g["variant"] == variant) & g["seed"].isin(seeds)]
                row = {"dataset": d, "method": m, "variant": variant, "inputs": inputs, "seeds": len(seeds),
                       "clean": v[v["kind"] == "clean"]["accuracy"].mean(),
                       "AA 16": _autoattack(strong, f"{m}-{variant}-{d}-s0", 16)}
                for e in (8, 16, 50):
                    row[f"PGD-20 {e}"] = v[(v["kind"] == "pgd") & np.isclose(v["eps_255"], e)]["accuracy"].mean()
                out.append(row)
    return pd.DataFrame(out, columns=SCALING_COLUMNS)


def scaling_lines(table: pd.DataFrame) -> list[str]:
    """In words, per model and dataset: what rescaling the inputs to [-1, 1] changes at 16/255 (PGD-20 and,
    where run, AutoAttack), whatever the sign of the change."""
    lines = []
    for (d, m), g in table.groupby(["dataset", "method"], sort=False):
        for unit_variant, signed_variant in SCALING_PAIRS:
            unit, signed = g[g["variant"] == unit_variant], g[g["variant"] == signed_variant]
            if not (len(unit) and len(signed)):
                continue
            unit, signed = unit.iloc[0], signed.iloc[0]
            text = (f"{METHOD_LABELS[m]} on {d} ({VARIANT_WORDS.get(signed['variant'], signed['variant'])}, "
                    f"{int(signed['seeds'])} seed(s)): PGD-20 at 16/255 {unit['PGD-20 16']:.1f}% with inputs in [0, 1], "
                    f"{signed['PGD-20 16']:.1f}% in [-1, 1] ({signed['PGD-20 16'] - unit['PGD-20 16']:+.1f} points)")
            aa = [f"{v:.1f}%" if not np.isnan(v) else "not run yet" for v in (unit["AA 16"], signed["AA 16"])]
            if aa != ["not run yet"] * 2:
                text += f"; AutoAttack at 16/255 {aa[0]} with inputs in [0, 1], {aa[1]} in [-1, 1]"
            lines.append(text + ".")
    return lines


# The tests of the mechanism on the plain baseline (MNIST, seed 0), and the question each answers.
MECHANISM_TESTS = {
    "signed_init": "Is it where training starts? A [0, 1]-input model whose first layer starts as the [-1, 1] "
                   "model's function (W' = 2W, b' = b - W 1)",
    "dark_bias_lr": "Is it how fast the first-layer bias learns? A [0, 1]-input model whose first-layer bias steps are "
                    "(1 + always-dark pixels) x larger, as the always-dark pixels' weights make the [-1, 1] model's "
                    "effective bias move",
    "doubled": "Is it the doubling? A model whose inputs are x * 2 (in [0, 2]): the [-1, 1] rescaling without its shift",
    "shifted": "Is it the shift? A model whose inputs are x - 1 (in [-1, 0]): the [-1, 1] rescaling without its "
               "doubling",
}


def mechanism_table(rows: pd.DataFrame, strong: pd.DataFrame | None = None, dataset: str = "mnist") -> pd.DataFrame:
    """The plain baseline (seed 0, 50 epochs) with inputs in [0, 1] (`ours`), in [-1, 1] (`signed`) and each
    mechanism test of `MECHANISM_TESTS`: clean, PGD-20 at 8, 16 and 50/255, AutoAttack at 16/255 where run."""
    sel = rows[(rows["method"] == "baseline") & (rows["dataset"] == dataset) & (rows["seed"] == 0)
               & (rows["epochs"] == 50) & (rows["protocol"] == "sound")]
    out = []
    for variant in ("ours", "signed", *MECHANISM_TESTS):
        v = sel[sel["variant"] == variant]
        if not len(v):
            continue
        row = {"variant": variant, "model": VARIANT_WORDS[variant],
               "clean": float(v[v["kind"] == "clean"]["accuracy"].mean()),
               "AA 16": _autoattack(strong, f"baseline-{variant}-{dataset}-s0", 16)}
        for e in (8, 16, 50):
            row[f"PGD-20 {e}"] = float(v[(v["kind"] == "pgd") & np.isclose(v["eps_255"], e)]["accuracy"].mean())
        out.append(row)
    return pd.DataFrame(out, columns=["variant", "model", "clean", "PGD-20 8", "PGD-20 16", "PGD-20 50", "AA 16"])


def mechanism_lines(table: pd.DataFrame, column: str = "PGD-20 16") -> list[str]:
    """For each mechanism test present: the share of the [0, 1] -> [-1, 1] gap in `column` it reproduces (with
    AutoAttack at 16/255 beside it where the test and both ends were attacked with it), and
    what that rules in or out (at least two thirds: it carries most of the effect; at most one third: it is not
    the main mechanism; between: part of it). Our reading of one seed each."""
    t = table.set_index("variant")
    if not {"ours", "signed"} <= set(t.index):
        return []
    low, high = t.loc["ours", column], t.loc["signed", column]
    gap = high - low
    lines = []
    for variant, question in MECHANISM_TESTS.items():
        if variant not in t.index:
            continue
        value = t.loc[variant, column]
        share = (value - low) / gap if abs(gap) > 1e-9 else np.nan
        verdict = ("it carries most of the effect" if share >= 2 / 3 else
                   "it is not the main mechanism" if share <= 1 / 3 else "it carries part of it")
        aa = t.loc[[variant, "ours", "signed"], "AA 16"]
        also = ("" if aa.isna().any() else f"; AutoAttack at 16/255 {aa.iloc[0]:.1f}%, against {aa.iloc[1]:.1f}% and "
                f"{aa.iloc[2]:.1f}%")
        lines.append(f"{question}: {column.replace(' ', ' at ')}/255 {value:.1f}%, against {low:.1f}% ([0, 1] inputs) "
                     f"and {high:.1f}% ([-1, 1] inputs), {round(100 * share) + 0:d}% of the gap{also}: {verdict} "
                     f"(our reading, one seed).")
    return lines


# The two parts a small-budget robustness could come from, each as pairs of (method, variant) that differ only in it.
SMALL_BUDGET_PARTS = {
    "the input scaling ([0, 1] -> [-1, 1])": [((m, "ours"), (m, "signed")) for m in ("baseline", "vib", "causalib")]
    + [(("vib", "authors_unit_input"), ("vib", "authors"))],
    # the authors' baseline against their VIB / CausalIB: their own comparison (it also has a 256 layer and a double
    # softmax, which their bottleneck replaces)
    "the bottleneck (none -> VIB or CausalIB)": [(("baseline", b), (m, v)) for b, v in
                                                 (("ours", "ours"), ("signed", "signed"), ("ours", "authors_unit_input"),
                                                  ("signed", "authors"), ("authors", "authors"))
                                                 for m in ("vib", "causalib")],
}


def _small_budget_value(rows: pd.DataFrame, strong: pd.DataFrame | None, method: str, variant: str,
                        dataset: str) -> tuple[float, float]:
    """(AutoAttack at 16/255, PGD-20 at 16/255) of one seed-0 model's mean (or deterministic) prediction."""
    sel = rows[(rows["method"] == method) & (rows["variant"] == variant) & (rows["dataset"] == dataset)
               & (rows["seed"] == 0) & (rows["epochs"] == 50) & (rows["protocol"] == "sound")
               & rows["mode"].isin(["mean", "deterministic"]) & (rows["kind"] == "pgd") & np.isclose(rows["eps_255"], 16)]
    pgd = float(sel["accuracy"].iloc[0]) if len(sel) else np.nan
    return _autoattack(strong, f"{method}-{variant}-{dataset}-s0", 16), pgd


def small_budget_parts(rows: pd.DataFrame, strong: pd.DataFrame | None = None,
                       datasets: tuple[str, ...] = ("mnist", "fashion_mnist")) -> pd.DataFrame:
    """For each dataset and each part of `SMALL_BUDGET_PARTS`, every measured pair (seed 0, 50 epochs) and the
    change at 16/255 that adding the part makes: under AutoAttack where both models were attacked with it, else
    under PGD-20."""
    out = []
    for d in datasets:
        for part, pairs in SMALL_BUDGET_PARTS.items():
            for (m0, v0), (m1, v1) in pairs:
                (aa0, pgd0), (aa1, pgd1) = (_small_budget_value(rows, strong, m, v, d) for m, v in ((m0, v0), (m1, v1)))
                both_aa = not (np.isnan(aa0) or np.isnan(aa1))
                attack, a, b = ("AutoAttack", aa0, aa1) if both_aa else ("PGD-20", pgd0, pgd1)
                if np.isnan(a) or np.isnan(b):
                    continue
                out.append({"dataset": d, "part": part, "from": f"{m0}-{v0}", "to": f"{m1}-{v1}", "attack": attack,
                            "from_acc": a, "to_acc": b, "change": b - a})
    return pd.DataFrame(out, columns=["dataset", "part", "from", "to", "attack", "from_acc", "to_acc", "change"])


def which_part_lines(parts: pd.DataFrame, margin: float = 5.0) -> list[str]:
    """Per dataset, in words, the part that carries the small-budget robustness: the one whose pairs change the
    accuracy at 16/255 most on average, if its average is more than `margin` points above every other part's;
    otherwise it says that no part does. Each part's mean change and its number of pairs, whatever the rows say."""
    if parts.empty:
        return ["Which part carries the robustness at 16/255: no pair of models that differ in one part has been run "
                "yet."]
    lines = []
    for d, g in parts.groupby("dataset", sort=False):
        means = g.groupby("part", sort=False)["change"].agg(["mean", "count"])
        each = "; ".join(f"{p}: {r['mean']:+.1f} points on average over {int(r['count'])} pair(s)"
                         for p, r in means.iterrows())
        head = (f"At 16/255 ({DATASET_NAMES.get(d, d)}, seed 0, AutoAttack where both models of a pair were attacked "
                f"with it, else PGD-20), ")
        if len(means) < 2:
            lines.append(head + f"only one part has measured pairs ({each}): which part carries more is not measured "
                         f"yet.")
            continue
        top, rest = means["mean"].idxmax(), means["mean"].drop(means["mean"].idxmax())
        if (means.loc[top, "mean"] - rest > margin).all():
            lines.append(head + f"{top} carries most of the robustness: {each}.")
        else:
            lines.append(head + f"no part carries most of the robustness (the parts' averages are within {margin:g} "
                         f"points of each other): {each}.")
    return lines
