"""Our numbers beside the paper's: one job. The paper's reference numbers come in one format,
`paper_reference(...)`: {(dataset, method, attack): (mean, std)}, std NaN where the paper gives none.
`summarise_seeds` turns result rows (one seed or several) into a summary, `beside_paper` sets it beside
the reference, `wide_table` pivots that to a row per model and prediction, and `verdicts` says in words
where we differ."""
from __future__ import annotations

import math

import pandas as pd

from . import paper
from .config import METHOD_LABELS

Reference = dict[tuple[str, str, str], tuple[float, float]]
NO_STD = float("nan")
EOT_SUFFIX = r" EOT-\d+"  # an attack label's EOT suffix ("PGD-20 EOT-4"), ignored when matching the paper


def _paper_tables() -> dict[str, Reference]:
    """Each of the paper's tables with white-box / AutoAttack / CW columns, in the one reference format."""
    return {
        "table1": {(d, m, a): v for d, rows in paper.TABLE1.items() for m, cols in rows.items() for a, v in cols.items()},
        "table4": {(d, m, a): (v, NO_STD) for d, rows in paper.TABLE4.items() for m, vals in rows.items()
                   for a, v in zip(("clean", "AA-LINF", "AA-L2"), vals)},
        "table8": {(d, m, "CW-20"): (v, NO_STD) for d, rows in paper.TABLE8.items() for m, v in rows.items()},
    }


def paper_reference(*tables: str) -> Reference:
    """The paper's numbers from `tables` ("table1": clean / FGSM / PGD-20 with std; "table4": clean / AA-LINF /
    AA-L2; "table8": CW-20) as {(dataset, method, attack): (mean, std)}; a key in several tables keeps the
    first table's value (e.g. Table 1's clean accuracy with its std, before Table 4's copy without)."""
    known = _paper_tables()
    unknown = [t for t in tables if t not in known]
    if unknown or not tables:
        raise ValueError(f"Unknown paper tables {unknown or '(none given)'}: name one or more of {', '.join(known)}.")
    out: Reference = {}
    for t in tables:
        out |= {k: v for k, v in known[t].items() if k not in out}
    return out


def summarise_seeds(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (over seeds; 0 for one seed) of accuracy per dataset, method, prediction mode and attack,
    with the number of seeds and, where the rows have them, `n` (images; the fewest) and `eot`."""
    keys = ["dataset", "method", "mode", "attack"]
    grouped = results.groupby(keys, sort=False)
    out = grouped["accuracy"].agg(["mean", "std", "count"])
    out["std"] = out["std"].fillna(0.0)
    out = out.rename(columns={"mean": "ours_mean", "std": "ours_std", "count": "seeds"})
    if "n" in results:
        out["n"] = grouped["n"].min()
    if "eot" in results:
        out["eot"] = grouped["eot"].first()
    return out.reset_index()


def _check_reference(reference: Reference) -> None:
    sample = next(iter(reference.items()), None)
    ok = isinstance(reference, dict) and (sample is None or (
        isinstance(sample[0], tuple) and len(sample[0]) == 3 and isinstance(sample[1], tuple) and len(sample[1]) == 2))
    if not ok:
        raise TypeError("The paper's numbers must map (dataset, method, attack) to (mean, std), e.g. "
                        "reporting.paper_reference('table1'); got " + repr(sample)[:120])


def beside_paper(summary: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """A seed summary (`summarise_seeds`) beside the paper's `reference` (`paper_reference`): columns
    `paper_mean`, `paper_std` (NaN where the paper has no such number) and `diff` = ours - paper, in points.
    An attack label's EOT suffix is dropped (the `eot` column, where present, keeps it)."""
    _check_reference(reference)
    out = summary.copy()
    out["attack"] = out["attack"].str.replace(EOT_SUFFIX, "", regex=True)
    refs = [reference.get(k, (math.nan, NO_STD)) for k in zip(out["dataset"], out["method"], out["attack"])]
    out["paper_mean"] = [m for m, _ in refs]
    out["paper_std"] = [s for _, s in refs]
    out["diff"] = out["ours_mean"] - out["paper_mean"]
    return out


def _mean_std(mean: float, std: float, with_std: bool) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.2f} ± {std:.2f}" if with_std and not pd.isna(std) else f"{mean:.2f}"


def wide_table(joined: pd.DataFrame, values=("ours", "paper", "diff")) -> pd.DataFrame:
    """`beside_paper` pivoted: a row per (dataset, method, mode); per attack (in order of appearance) the
    columns `values`, out of 'ours' (mean ± std over seeds), 'n', 'paper' (mean ± std) and 'diff'."""
    joined = joined.assign(
        ours=[_mean_std(m, s, k > 1) for m, s, k in zip(joined["ours_mean"], joined["ours_std"], joined["seeds"])],
        paper=[_mean_std(m, s, True) for m, s in zip(joined["paper_mean"], joined["paper_std"])],
        diff=joined["diff"].round(2),
        method=joined["method"].map(lambda m: METHOD_LABELS.get(m, m)),
    )
    table = joined.pivot_table(index=["dataset", "method", "mode"], columns="attack", values=list(values),
                               aggfunc="first", sort=False)
    table = table.reorder_levels([1, 0], axis=1)
    attacks = list(dict.fromkeys(joined["attack"]))
    return table[[(a, v) for a in attacks for v in values if (a, v) in table.columns]]


def verdicts(joined: pd.DataFrame, tolerance: float = 3.0) -> list[str]:
    """A sentence per row whose difference from the paper exceeds `tolerance` points (std included)."""
    lines = []
    for _, r in joined.dropna(subset=["paper_mean"]).iterrows():
        slack = tolerance + r["ours_std"] + (0.0 if pd.isna(r["paper_std"]) else r["paper_std"])
        if abs(r["diff"]) > slack:
            word = "higher" if r["diff"] > 0 else "lower"
            lines.append(f"{r['dataset']} / {METHOD_LABELS.get(r['method'], r['method'])} [{r['mode']}] / {r['attack']}: "
                         f"ours {r['ours_mean']:.2f} vs paper {r['paper_mean']:.2f} ({abs(r['diff']):.2f} points {word}): "
                         f"does not reproduce within {slack:.1f} points.")
    return lines
