"""Table 1's VIB and CausalIB rows at the paper's training length (50 epochs), for a GPU.

The `quick` profile trains 8 epochs on the CPU; this script checks whether the paper's 50 epochs change
the verdict. It trains (or loads from the cache) VIB and CausalIB at the `paper` profile's settings for
one seed on MNIST and FashionMNIST, evaluates clean / FGSM / PGD-20 at 50/255 on the full test set in
`mean` mode and in `sample` mode (EOT-4), and FGSM over eps (Fig. 4's curve), and writes
`table1_paper_epochs.csv` and `fig4_paper_epochs.csv` into `--out` (default `results/paper_epochs/`, outside
the quick run's summary).

    python scripts/table1_paper_epochs.py --seed 0 [--out DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

import cibtools
from cibtools import zoo
from cibtools.config import PAPER_EPS
from cibtools.evaluate import AttackSpec, eps_sweep, paper_attacks, robust_accuracy
from cibtools.results import git_commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=cibtools.paths.REPO_ROOT / "results" / "paper_epochs")
    args = parser.parse_args()
    device = cibtools.default_device()
    rows, sweeps = [], []
    for dataset in ("mnist", "fashion_mnist"):
        test = cibtools.load_dataset(dataset, "test", device=device)
        eps = PAPER_EPS[dataset]
        for method in ("vib", "causalib"):
            start = time.perf_counter()
            run = zoo.get_model(method, dataset, "paper", seed=args.seed, device=device, progress=False)
            model = run.model
            model.predict_mode = "mean"
            rows.append(robust_accuracy(model, test, paper_attacks(eps), method=method))
            model.predict_mode = "sample"
            eot = [AttackSpec("clean"), AttackSpec("fgsm", eps, eot=4), AttackSpec("pgd", eps, steps=20, eot=4)]
            rows.append(robust_accuracy(model, test, eot, method=method))
            model.predict_mode = "mean"
            if dataset == "mnist":
                sweeps.append(eps_sweep(model, test, "fgsm", [k * 8 / 255 for k in range(1, 20)], method=method))
            print(f"{dataset} {method}: {len(run.history)} epochs, trained {run.train_seconds:.0f} s "
                  f"(cache: {run.from_cache}), total {time.perf_counter() - start:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
            "commit": git_commit(), "seed": args.seed, "epochs": cibtools.settings("paper").epochs}
    table = pd.concat(rows, ignore_index=True).assign(**meta)
    table.to_csv(args.out / "table1_paper_epochs.csv", index=False)
    pd.concat(sweeps, ignore_index=True).assign(**meta).to_csv(args.out / "fig4_paper_epochs.csv", index=False)
    print(table[["dataset", "method", "mode", "attack", "accuracy", "n"]].to_string(index=False))


if __name__ == "__main__":
    main()
