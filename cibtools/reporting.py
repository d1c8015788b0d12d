"""Tables that set our measured numbers beside the paper's, and plain-words verdicts generated from them."""
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


def wide_table(joined: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, mode); per attack the columns 'ours', 'paper' and 'diff'."""
    joined = joined.assign(
        ours=joined.apply(lambda r: f"{r.ours_mean:.2f} ± {r.ours_std:.2f}" if r.seeds > 1 else f"{r.ours_mean:.2f}", axis=1),
        paper=joined.apply(lambda r: "" if pd.isna(r.paper_mean) else f"{r.paper_mean:.2f} ± {r.paper_std:.2f}", axis=1),
        diff=joined["diff"].round(2),
        method=joined["method"].map(lambda m: METHOD_LABELS.get(m, m)),
    )
    wide = joined.pivot_table(index=["dataset", "method", "mode"], columns="attack",
                              values=["ours", "paper", "diff"], aggfunc="first", sort=False)
    attacks = list(dict.fromkeys(joined["attack"]))
    wide = wide.reorder_levels([1, 0], axis=1)
    return wide[[(a, c) for a in attacks for c in ("ours", "paper", "diff") if (a, c) in wide.columns]]


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
