"""RESULTS.md: the detailed results, written from the committed result files so that it cannot drift from
them: notebook 11's conclusion and tables (`results/10_*.csv`), the paper-settings rows
(`paper_settings.read_rows`, `read_strong`, `read_scales`), the `quick` run's tables (`results/0N_*.csv`)
and the speed measurements (`benchmarks/measured/*.json`). Tables only, plus lines quoted from the
files; the README's headline quotes numbers from here, and `tests/test_results_docs.py` checks both.

    python -m cibtools.results_md            # rewrite RESULTS.md from the committed files
    python -m cibtools.results_md --check    # exit 1 when RESULTS.md is not what the files give
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import paper_settings
from .config import METHOD_LABELS
from .data import DATASET_NAMES
from .paths import REPO_ROOT
from .summary import markdown_table

RESULTS = REPO_ROOT / "results"
OUT = REPO_ROOT / "RESULTS.md"
MEASURED = REPO_ROOT / "benchmarks" / "measured"
METHOD_ORDER = {"baseline": 0, "vib": 1, "causalib": 2}
VARIANT_ORDER = {"ours": 0, "alemi": 1, "authors": 2}


def _csv(name: str, folder: Path) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: RESULTS.md is written from the committed results; restore it "
                                f"(`git checkout -- {path.relative_to(REPO_ROOT)}`) or run the notebook that writes it.")
    return pd.read_csv(path)


def _provenance(name: str, folder: Path) -> str:
    """'commit X, time' of a table's JSON twin (written by `results.save_table`)."""
    path = folder / f"{name}.json"
    if not path.exists():
        return "provenance not recorded"
    meta = json.loads(path.read_text()).get("meta", {})
    return f"profile `{meta.get('profile', '?')}`, commit `{meta.get('commit', '?')}`, {meta.get('time', '?')}"


def _pm(mean: float, sd: float, digits: int = 2) -> str:
    if mean != mean:
        return ""
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd == sd else "")


def _p(p: float) -> str:
    return "–" if p != p else f"{p:.2g}"


def _label(method: str, variant: str) -> str:
    from .plotting import _variant_label

    return _variant_label(method, variant)


def conclusion_section(folder: Path) -> list[str]:
    lines = _csv("11_conclusion", folder)["conclusion"].tolist()
    return ["## The verdict (notebook 11)",
            f"Notebook 11's conclusion, written by `verdict.conclusion` from the paper-settings rows "
            f"(`results/11_conclusion.csv`; {_provenance('11_conclusion', folder)}):",
            "\n".join(f"> {line.strip()}\n>" for line in lines).rstrip(">\n")]


def paper_settings_section(folder: Path) -> list[str]:
    t = _csv("11_paper_settings", folder)
    out = []
    t = t.assign(_order=[(list(DATASET_NAMES).index(d) if d in DATASET_NAMES else 9, METHOD_ORDER.get(m, 9),
                          VARIANT_ORDER.get(v, 9), v)
                         for d, m, v in zip(t["dataset"], t["method"], t["variant"])]).sort_values("_order", kind="stable")
    for (d, m, variant), g in t[t["mode"] != "sample"].groupby(["dataset", "method", "variant"], sort=False):
        cell = {(a, e): r for a, e, r in zip(g["attack"], g["eps_255"], g.itertuples())}

        def ours(attack, eps):
            r = cell.get((attack, eps))
            return "" if r is None else _pm(r.ours_mean, r.ours_sd)

        def paper(attack, eps):
            r = cell.get((attack, eps))
            return "" if r is None or r.paper_mean != r.paper_mean else f" ({_pm(r.paper_mean, r.paper_sd)})"

        def p(attack):
            r = cell.get((attack, 50.0))
            return "" if r is None else _p(r.p)

        seeds = int(g["seeds"].max())
        out.append({"dataset": DATASET_NAMES.get(d, d), "model": g["label"].iloc[0], "seeds": seeds,
                    "clean (paper)": ours("clean", 0.0) + paper("clean", 0.0),
                    "FGSM 50/255 (paper)": ours("FGSM", 50.0) + paper("FGSM", 50.0),
                    "PGD-20 50/255 (paper)": ours("PGD-20", 50.0) + paper("PGD-20", 50.0),
                    "FGSM 16/255": ours("FGSM", 16.0), "PGD-20 8/255": ours("PGD-20", 8.0),
                    "PGD-20 16/255": ours("PGD-20", 16.0),
                    "Welch p, FGSM / PGD-20": f"{p('FGSM')} / {p('PGD-20')}" if seeds > 1 else ""})
    sample = t[(t["mode"] == "sample") & (t["eps_255"] == 50) & (t["attack"] != "clean")]
    wide = sample.pivot_table(index=["dataset", "label"], columns="attack", values="ours_mean", sort=False).reset_index()
    wide["dataset"] = wide["dataset"].map(lambda d: DATASET_NAMES.get(d, d))
    return ["## Table 1 at the paper's settings (notebook 11, section 1)",
            f"50 epochs, batch 100, all 10,000 test images, sound protocol; `mean` prediction (the baseline: its "
            f"deterministic one); mean ± sd over the seeds, the paper's mean ± sd in brackets, and Welch's p with "
            f"the paper's runs taken as 3 (`results/11_paper_settings.csv`; {_provenance('11_paper_settings', folder)}). "
            f"Accuracy in %.",
            markdown_table(pd.DataFrame(out)),
            "The same models in `sample` mode (softmax of 12 draws, attacked with EOT-4), mean over the seeds, at 50/255:",
            markdown_table(wide.rename(columns={"label": "model"}))]


def strong_section(strong: pd.DataFrame) -> list[str]:
    if strong.empty:
        return ["## Stronger attacks", "No rows yet (`python -m cibtools.paper_settings strong <shard>`)."]
    s = strong[strong["kind"] != "clean"].copy()
    s["model"] = [f"{_label(m, v)}, {DATASET_NAMES.get(d, d)}, seed {sd}"
                  for m, v, d, sd in zip(s["method"], s["variant"], s["dataset"], s["seed"])]
    s["eps"] = ["1 (unbounded)" if e >= 255 else f"{e:g}/255" for e in s["eps_255"]]
    table = s.sort_values(["model", "eps_255", "n"], kind="stable")[["model", "eps", "attack", "mode", "accuracy", "n"]]
    return ["## Stronger attacks on the 50-epoch models (`paper_settings strong`)",
            "`mean` prediction, except the authors' PGD, which attacks the prediction their code reports (`sample`: "
            "one random pass); AutoAttack is `standard` (APGD-CE, APGD-T, FAB-T, Square) on the first `n` test "
            "images. Accuracy in %.",
            markdown_table(table)]


def factor_section(folder: Path) -> list[str]:
    factors = _csv("11_factors", folder).drop(columns=["paper_FGSM", "paper_PGD20"])
    gaps = _csv("11_gaps", folder)
    return ["## Which factor moves the numbers (notebook 11, sections 2-3)",
            "VIB and CausalIB, MNIST, seed 0, 50/255, `sample` prediction; `PGD` is PGD-20 with EOT-4 under the "
            "sound protocol, PGD-40 (step 0.01, CE of the probabilities, one random pass per step) under the "
            "authors', and their PGD as their code computes it (gradients at a random offset, the perturbation "
            "applied at the clean image) under `authors_pgd`; `inputs`: the scaling the model applies first; "
            f"`gap` = ours - paper, in points (`results/11_factors.csv`; {_provenance('11_factors', folder)}):",
            markdown_table(factors),
            "The mean change from our level to the paper-like one over the pairs of cells that differ in that "
            "factor only (`results/11_gaps.csv`):",
            markdown_table(gaps)]


def ablation_section(folder: Path, scales: pd.DataFrame) -> list[str]:
    out = ["## Which part of the authors' bottleneck matters (notebook 11, section 4)",
           "The authors' VIB (MNIST, seed 0, 50 epochs) with one part changed to ours, `mean` prediction, sound "
           f"protocol, all 10,000 test images; `d` = change from the full model, in points "
           f"(`results/11_ablation.csv`; {_provenance('11_ablation', folder)}):",
           markdown_table(_csv("11_ablation", folder))]
    if not scales.empty:
        keep = [c for c in ("shard", "dataset", "seed", "sigma_mean", "mu_sd", "snr", "n") if c in scales.columns]
        out += ["The noise scale each trained bottleneck uses on the test images: mean std |sigma| and "
                "sd(mu) / |sigma| (`paper_settings scales`):", markdown_table(scales[keep], digits=3)]
    return out


def part4_section(folder: Path) -> list[str]:
    """Notebook 11's section 5 (part 4): the input scaling on every model and the paper's Table 1 row by row."""
    out = ["## The input scaling on every model, and the paper row by row (notebook 11, section 5)"]
    for name, text in (("11_scaling", "Every model trained with inputs in [0, 1] and in [-1, 1] (50 epochs, `mean` "
                                      "or deterministic prediction, sound protocol, PGD-20; `AA 16`: AutoAttack at "
                                      "16/255 on seed 0, 1,000 images, where run)"),
                       ("11_closest", "For each of the paper's Table 1 numbers at 50/255, the closest combination of "
                                      "ours (mean over its seeds), its distance in points, and what AutoAttack at "
                                      "50/255 leaves of its seed-0 model (`AA 50`, where run)")):
        if not (folder / f"{name}.csv").exists():
            out.append(f"`results/{name}.csv` is not written yet: run notebook 11.")
            continue
        table = _csv(name, folder)
        out += [f"{text} (`results/{name}.csv`; {_provenance(name, folder)}):",
                markdown_table(table) if len(table) else "(no rows yet)"]
    return out


def quick_section(folder: Path) -> list[str]:
    t1 = _csv("05_table1", folder)
    rows = []
    for (m, mode), g in t1.groupby(["method", "mode"], sort=False):
        row = {"method": METHOD_LABELS.get(m, m), "mode": mode}
        for r in g.itertuples():
            paper = "" if r.paper_mean != r.paper_mean else f" ({r.paper_mean:.2f})"
            row[f"{DATASET_NAMES.get(r.dataset, r.dataset)} {r.attack}"] = f"{r.ours_mean:.2f}{paper}"
        rows.append(row)
    checks = _csv("05_sanity_checks", folder)
    checklist = _csv("09_checklist", folder)
    cross = _csv("07_crossings", folder)[["panel", "curve", "ours_255", "bracket (/255)", "paper_255", "n"]]
    minimal = _csv("08_minimal_eps_summary", folder)[["method", "attack", "mode", "n", "median", "mean"]]
    paired = _csv("08_minimal_eps_paired", folder)[["first", "second", "images (both correct)", "fraction first larger",
                                                    "fraction first smaller", "sign test p"]]
    paired["sign test p"] = paired["sign test p"].map(_p)
    table4 = _csv("09_table4", folder)[["dataset", "method", "mode", "attack", "ours_mean", "n", "paper_mean"]]
    protocols = _csv("09_protocols", folder)
    ablations = _csv("06_ablations", folder)[["setting", "clean", "FGSM", "PGD-20", "paper clean", "paper FGSM",
                                              "paper PGD-20"]]
    return ["## The `quick` profile (notebooks 04-09)",
            f"4 epochs (AT (PGD-20): 3), 1 seed, the first 5000 test images for Table 1, smaller subsets for the "
            f"rest; {_provenance('05_table1', folder)}. `results/SUMMARY.md` holds every table of that run with the "
            "wall time of each notebook.",
            "### Table 1 (notebook 05): ours (paper's), accuracy in %, eps = 50/255",
            markdown_table(pd.DataFrame(rows)),
            f"Sanity checks of Sec. 4.6 (`results/05_sanity_checks.csv`): {int(checks['passed'].sum())} of "
            f"{len(checks)} pass.",
            "### Ablations (notebook 06, MNIST, `mean` prediction, 50/255)", markdown_table(ablations),
            "### Fig. 4's 50% crossings (notebook 07)", markdown_table(cross),
            "### Minimal budgets (notebook 08, PGD-20, in /255)", markdown_table(minimal), markdown_table(paired),
            "### Strongest attacks (notebook 09): AutoAttack at 8/255 on small subsets (`n`)", markdown_table(table4),
            f"Evaluation protocols (`results/09_protocols.csv`):", markdown_table(protocols),
            f"Checklist (`results/09_checklist.csv`): {int(checklist['passed'].sum())} of {len(checklist)} checks pass."]


def measured_section(folder: Path = MEASURED) -> list[str]:
    out = ["## Speed (`make benchmark`, `benchmarks/measured/`)"]
    for path in sorted(folder.glob("*.json")):
        d = json.loads(path.read_text())
        where = d.get("gpu") or f"{d.get('machine', '?')} CPU, {d.get('threads', '?')} thread(s)"
        values = {k: v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        table = pd.DataFrame({"measure": list(values),
                              "value": [str(int(v)) if float(v).is_integer() else f"{v:.3g}" for v in values.values()]})
        out += [f"`{path.name}`: {where}, torch {d.get('torch', '?')}, commit `{d.get('commit', '?')}` "
                "(`_s`: seconds, `_ms`: milliseconds).", markdown_table(table, digits=3)]
    return out


def render(folder: Path = RESULTS, rows_root: Path | None = None) -> str:
    """The text of RESULTS.md from the committed files under `folder` (and the paper-settings rows)."""
    strong = paper_settings.read_strong(rows_root)
    scales = paper_settings.read_scales(rows_root)
    parts = ["# Results",
             "Written by `python -m cibtools.results_md` from the committed result files; do not edit it by hand "
             "(`tests/test_results_docs.py` fails when it differs from what the files give). Every number was "
             "computed by the code in this repository; the paper's numbers are the ones in brackets or in columns "
             "named `paper`. The history of these results is in CHANGELOG.md."]
    for section in (conclusion_section(folder), paper_settings_section(folder), strong_section(strong),
                    factor_section(folder), ablation_section(folder, scales), part4_section(folder), quick_section(folder),
                    measured_section()):
        parts += section
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write RESULTS.md from the committed result files.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when RESULTS.md differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("RESULTS.md is up to date." if same else "RESULTS.md differs from the committed results: run "
              "`python -m cibtools.results_md`.", file=sys.stdout if same else sys.stderr)
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
