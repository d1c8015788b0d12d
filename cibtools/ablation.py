"""Notebook 06's ablation study (the paper's Tables 3 and 6): one job, evaluating CausalIB over its
regulariser's norm (L1 / L2) and the alpha x beta grid, and setting each cell beside the paper's."""
from __future__ import annotations

import pandas as pd
import torch

from . import paper, zoo
from .data import TensorData
from .evaluate import paper_attacks, robust_accuracy

COLUMNS = ("clean", "FGSM", "PGD-20")


def evaluate_setting(label: str, dataset: str, profile: str, seeds, test: TensorData, eps: float,
                     device: torch.device, **overrides) -> dict:
    """One row: CausalIB trained with `overrides` (e.g. alpha, beta, causal_norm) for each seed, attacked with
    the paper's clean / FGSM / PGD-20 at `eps`; mean and std (over seeds) of each accuracy."""
    per_seed = []
    for s in seeds:
        model = zoo.get_model("causalib", dataset, profile, seed=s, device=device, **overrides).model
        table = robust_accuracy(model, test, paper_attacks(eps), method="causalib")
        per_seed.append(table.set_index("attack")["accuracy"].rename(s))
    acc = pd.concat(per_seed, axis=1)
    return {"setting": label, **overrides, **{a: acc.loc[a].mean() for a in acc.index},
            **{f"{a} std": acc.loc[a].std(ddof=0) for a in acc.index}}


def study(dataset: str, profile: str, seeds, test: TensorData, eps: float, device: torch.device,
          alphas, betas) -> pd.DataFrame:
    """Table 3 (L1 vs L2 at the default alpha and beta) then Table 6 (every alpha x beta cell, L1)."""
    common = dict(dataset=dataset, profile=profile, seeds=seeds, test=test, eps=eps, device=device)
    settings = [("L1", dict(causal_norm="l1")), ("L2", dict(causal_norm="l2"))]
    settings += [(f"alpha={a}/beta={b}", dict(alpha=a, beta=b)) for a in alphas for b in betas]
    # the missing models first, two at a time on a CPU (`zoo.train_missing`), then each setting is attacked
    zoo.train_missing([("causalib", dataset, s, tuple(o.items())) for _, o in settings for s in seeds], profile, device)
    rows = [evaluate_setting(label, **o, **common) for label, o in settings]
    return pd.DataFrame(rows)


def paper_reference(ours: pd.DataFrame) -> pd.DataFrame:
    """The paper's clean / FGSM / PGD-20 for each of our rows (NaN where the paper has no such cell)."""
    def ref(r):
        key = r["setting"] if r["setting"] in ("L1", "L2") else (r["alpha"], r["beta"])
        return paper.ABLATION.get(key, (float("nan"),) * len(COLUMNS))
    return pd.DataFrame([ref(r) for _, r in ours.iterrows()], columns=[f"paper {c}" for c in COLUMNS])


def beside_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """Our mean accuracies, the paper's and the difference (ours - paper), per setting."""
    ref = paper_reference(ours)
    table = pd.concat([ours[["setting", *COLUMNS]], ref], axis=1)
    for c in COLUMNS:
        table[f"diff {c}"] = table[c] - table[f"paper {c}"]
    return table


def grids(ours: pd.DataFrame, column: str = "PGD-20") -> tuple[pd.DataFrame, pd.DataFrame]:
    """`column` over the alpha x beta grid: ours, and the paper's on the same cells (NaN where not reported)."""
    cells = ours[~ours["setting"].isin(["L1", "L2"])]
    mine = cells.pivot(index="alpha", columns="beta", values=column).astype(float)
    k = COLUMNS.index(column)
    theirs = pd.DataFrame([[paper.ABLATION.get((a, b), (float("nan"),) * len(COLUMNS))[k] for b in mine.columns]
                           for a in mine.index], index=mine.index, columns=mine.columns)
    return mine, theirs


def paper_findings(column: str = "PGD-20") -> tuple[float, float, str]:
    """The paper's `column` accuracy with the L1 and the L2 regulariser (Table 3), and its best alpha x beta
    cell under `column` (Table 6), labelled like our settings ("alpha=0.05/beta=0.05")."""
    k = COLUMNS.index(column)
    cells = [key for key in paper.ABLATION if isinstance(key, tuple)]
    a, b = max(cells, key=lambda key: paper.ABLATION[key][k])
    return paper.ABLATION["L1"][k], paper.ABLATION["L2"][k], f"alpha={a}/beta={b}"
