"""Tables that set our measured numbers beside the paper's (seed summaries with `beside_paper`/`wide_table`,
single-run rows with `join_paper`/`wide`), and plain-words verdicts generated from them."""
from __future__ import annotations

import pandas as pd

from .config import METHOD_LABELS


def summarise_seeds(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (over seeds) of accuracy per dataset, method, prediction mode and attack."""
    keys = ["dataset", "method", "mode", "attack"]
    grouped = results.groupby(keys, sort=False)["accuracy"]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out.rename(columns={"mean": "ours_mean", "std": "ours_std", "count": "seeds"})


def beside_paper(summary: pd.DataFrame, paper: dict[str, dict[str, tuple[float, float]]]) -> pd.DataFrame:
    """Join a seed summary with the paper's {method: {attack: (mean, std)}}; diff = ours - paper."""
    rows = []
    for _, r in summary.iterrows():
        ref = paper.get(r["method"], {}).get(r["attack"])
        rows.append({**r.to_dict(), "paper_mean": ref[0] if ref else float("nan"),
                     "paper_std": ref[1] if ref else float("nan")})
    out = pd.DataFrame(rows)
    out["diff"] = out["ours_mean"] - out["paper_mean"]
    return out


def _by_attack(long: pd.DataFrame, values) -> pd.DataFrame:
    """A row per (dataset, method, mode); per attack (in order of appearance) the columns `values`."""
    table = long.pivot_table(index=["dataset", "method", "mode"], columns="attack", values=list(values),
                             aggfunc="first", sort=False)
    attacks = list(dict.fromkeys(long["attack"]))
    table = table.reorder_levels([1, 0], axis=1)
    return table[[(a, v) for a in attacks for v in values if (a, v) in table.columns]]


def wide_table(joined: pd.DataFrame) -> pd.DataFrame:
    """`beside_paper` pivoted: one row per (dataset, method, mode); per attack 'ours', 'paper' and 'diff'."""
    joined = joined.assign(
        ours=joined.apply(lambda r: f"{r.ours_mean:.2f} ± {r.ours_std:.2f}" if r.seeds > 1 else f"{r.ours_mean:.2f}", axis=1),
        paper=joined.apply(lambda r: "" if pd.isna(r.paper_mean) else f"{r.paper_mean:.2f} ± {r.paper_std:.2f}", axis=1),
        diff=joined["diff"].round(2),
        method=joined["method"].map(lambda m: METHOD_LABELS.get(m, m)),
    )
    return _by_attack(joined, ("ours", "paper", "diff"))


def join_paper(results: pd.DataFrame, reference: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    """Single-run rows (e.g. notebook 08's attacks) beside the paper's: one row per result with `ours`, `n`,
    `paper` and `diff` (ours - paper, in points). `reference` maps (dataset, method, attack) to the paper's
    number; an attack label's EOT suffix is ignored for the match (the `eot` column keeps it)."""
    out = results.drop(columns=["correct"], errors="ignore").copy()
    out["attack"] = out["attack"].str.replace(r" EOT-\d+", "", regex=True)
    out["paper"] = [reference.get((d, m, a), float("nan")) for d, m, a in zip(out["dataset"], out["method"], out["attack"])]
    out = out.rename(columns={"accuracy": "ours"})
    out["diff"] = out["ours"] - out["paper"]
    return out[["dataset", "method", "mode", "attack", "eot", "ours", "n", "paper", "diff"]]


def wide(long: pd.DataFrame, values=("ours", "n", "paper", "diff")) -> pd.DataFrame:
    """`join_paper` pivoted: a row per (dataset, method, mode), per attack the columns `values`."""
    return _by_attack(long, values).round(2)


def verdicts(joined: pd.DataFrame, tolerance: float = 3.0) -> list[str]:
    """A sentence per row whose difference from the paper exceeds `tolerance` points (std included)."""
    lines = []
    for _, r in joined.dropna(subset=["paper_mean"]).iterrows():
        slack = tolerance + r["ours_std"] + r["paper_std"]
        if abs(r["diff"]) > slack:
            word = "higher" if r["diff"] > 0 else "lower"
            lines.append(f"{r['dataset']} / {METHOD_LABELS.get(r['method'], r['method'])} [{r['mode']}] / {r['attack']}: "
                         f"ours {r['ours_mean']:.2f} vs paper {r['paper_mean']:.2f} ({abs(r['diff']):.2f} points {word}): "
                         f"does not reproduce within {slack:.1f} points.")
    return lines
