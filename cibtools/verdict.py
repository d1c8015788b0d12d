"""Reading the paper-settings rows (`paper_settings`): Table 1 with error bars and Welch tests beside
the paper, the factor table (our vs the authors' model, sound vs the authors' protocol, 4 vs 50
epochs, our vs Alemi's optimiser), the points each factor closes, and a conclusion in plain words
that is written from the numbers, whatever they say.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import reporting
from .config import METHOD_LABELS

PAPER_RUNS = 3  # runs assumed behind each paper mean +- sd (the paper does not say): Welch's df uses it
COLUMN = {"clean": "clean", "fgsm": "FGSM", "pgd": "PGD", "authors_pgd": "PGD"}
VARIANT_LABELS = {"ours": "", "authors": " (authors' model)", "alemi": " (Alemi's optimiser)"}  # parts 1 and 2
WITHOUT = {  # part 3: what each ablation of the authors' VIB leaves out (`paper_settings.ABLATIONS`)
    "authors_unit_input": "inputs in [0, 1], not [-1, 1]", "authors_linear_heads": "one Linear layer per head, not two",
    "authors_softplus_sigma": "Alemi's softplus(raw - 5) std, not the raw one", "authors_1draw": "1 training draw, not 12",
}
ABLATION_COLUMNS = ["variant", "changed", "epochs", "clean", "FGSM 16", "PGD-20 16", "FGSM 50", "PGD-20 50",
                    "d FGSM 50", "d PGD-20 50"]
TABLE_COLUMNS = ["dataset", "method", "variant", "mode", "attack", "eps_255", "seeds", "ours_mean", "ours_sd", "per_seed", "n",
                 "paper_mean", "paper_sd", "diff", "welch_t", "p", "label"]
FACTOR_COLUMNS = ["method", "model", "inputs", "optimiser", "epochs", "protocol", "FGSM", "PGD", "paper_FGSM",
                  "paper_PGD20", "gap_FGSM", "gap_PGD"]
# The variants of the factor table and the levels they stand for: (bottleneck model, input scaling, optimiser).
VARIANT_FACTORS = {
    "ours": ("ours", "[0, 1]", "ours"), "alemi": ("ours", "[0, 1]", "Alemi"), "signed": ("ours", "[-1, 1]", "ours"),
    "authors": ("authors", "[-1, 1]", "ours"), "authors_unit_input": ("authors", "[0, 1]", "ours"),
}
FACTORS = {  # factor: (its column, our level, the paper-like level); protocol `authors_pgd` is their PGD as their code runs it
    "model": ("model", "ours", "authors"), "inputs": ("inputs", "[0, 1]", "[-1, 1]"),
    "protocol": ("protocol", "sound", "authors"), "authors' PGD": ("protocol", "sound", "authors_pgd"),
    "epochs": ("epochs", 4, 50), "optimiser": ("optimiser", "ours", "Alemi"),
}


def welch(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value for two means given their sd and counts
    (nan when both sds are zero, or a count is below 2)."""
    from scipy import stats

    if n1 < 2 or n2 < 2:
        return float("nan"), float("nan")
    v1, v2 = s1 ** 2 / n1, s2 ** 2 / n2
    if v1 + v2 == 0:
        return float("nan"), float("nan")
    t = (m1 - m2) / np.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
    return float(t), float(2 * stats.t.sf(abs(t), df))


def _paper(dataset: str, method: str, column: str) -> tuple[float, float]:
    key = {"clean": "clean", "FGSM": "FGSM", "PGD": "PGD-20"}[column]
    return reporting.paper_reference("table1").get((dataset, method, key), (np.nan, np.nan))


def paper_settings_table(rows: pd.DataFrame, paper_runs: int = PAPER_RUNS) -> pd.DataFrame:
    """Every model at 50 epochs under the sound protocol: mean +- sd over seeds per dataset, method,
    variant (ours: part 1; the authors' bottleneck and Alemi's optimiser: part 2, seed 0), prediction mode,
    attack and eps, the per-seed values, and at 50/255 the paper's mean +- sd with Welch's t and p (the
    paper's runs taken as `paper_runs`)."""
    part = rows[(rows["epochs"] == 50) & (rows["protocol"] == "sound") & rows["variant"].isin(list(VARIANT_LABELS))]
    out = []
    for (d, m, variant, mode, kind, eps), g in part.groupby(["dataset", "method", "variant", "mode", "kind", "eps_255"],
                                                           sort=False):
        g = g.sort_values("seed")
        acc = g["accuracy"].to_numpy()
        column = COLUMN[kind]
        row = {"dataset": d, "method": m, "variant": variant, "mode": mode,
               "attack": column if column != "PGD" else "PGD-20",
               "eps_255": eps, "seeds": len(acc), "ours_mean": acc.mean(),
               "ours_sd": acc.std(ddof=1) if len(acc) > 1 else np.nan,
               "per_seed": " / ".join(f"{a:.2f}" for a in acc), "n": int(g["n"].min())}
        if kind == "clean" or eps == 50:
            pm, ps = _paper(d, m, column)
            t, p = welch(row["ours_mean"], row["ours_sd"], len(acc), pm, ps, paper_runs)
            row.update(paper_mean=pm, paper_sd=ps, diff=row["ours_mean"] - pm, welch_t=t, p=p)
        out.append(row)
    table = pd.DataFrame(out, columns=TABLE_COLUMNS[:-1])
    table["label"] = table["method"].map(METHOD_LABELS) + table["variant"].map(VARIANT_LABELS)
    return table


def factor_table(rows: pd.DataFrame, dataset: str = "mnist", eps_255: float = 50) -> pd.DataFrame:
    """VIB and CausalIB on `dataset` at `eps_255`, seed 0, sampled prediction: one row per combination of
    model x input scaling x optimiser x epochs x protocol (`VARIANT_FACTORS`) with its FGSM and PGD accuracy
    (PGD-20 with EOT-4 under the sound protocol; the authors' PGD-40 on CE of probabilities, one pass per step,
    under `authors`; their PGD as their code computes it under `authors_pgd`, which has no FGSM) beside the paper's."""
    sel = rows[(rows["dataset"] == dataset) & (rows["seed"] == 0) & (rows["mode"] == "sample")
               & rows["method"].isin(["vib", "causalib"]) & (rows["eps_255"] == eps_255)
               & rows["variant"].isin(list(VARIANT_FACTORS))]
    out = []
    for (m, variant, epochs, protocol), g in sel.groupby(["method", "variant", "epochs", "protocol"], sort=False):
        acc = {COLUMN[k]: float(a) for k, a in zip(g["kind"], g["accuracy"]) if k in COLUMN}
        pf, pp = _paper(dataset, m, "FGSM")[0], _paper(dataset, m, "PGD")[0]
        model, inputs, optimiser = VARIANT_FACTORS[variant]
        out.append({"method": m, "model": model, "inputs": inputs, "optimiser": optimiser, "epochs": int(epochs),
                    "protocol": protocol, "FGSM": acc.get("FGSM", np.nan), "PGD": acc.get("PGD", np.nan),
                    "paper_FGSM": pf, "paper_PGD20": pp,
                    "gap_FGSM": acc.get("FGSM", np.nan) - pf, "gap_PGD": acc.get("PGD", np.nan) - pp})
    return pd.DataFrame(out, columns=FACTOR_COLUMNS).sort_values(
        ["method", "model", "inputs", "optimiser", "epochs", "protocol"], ignore_index=True)


def gaps_closed(factors: pd.DataFrame) -> pd.DataFrame:
    """For each factor, the mean change in FGSM and PGD accuracy (points) from our level to the
    paper-like level over the pairs of cells that differ only in that factor; positive = towards
    the paper (whose numbers are higher)."""
    columns = sorted({column for column, _, _ in FACTORS.values()})
    out = []
    for factor, (column, ours, theirs) in FACTORS.items():
        others = ["method"] + [c for c in columns if c != column]
        a = factors[factors[column] == ours].set_index(others)
        b = factors[factors[column] == theirs].set_index(others)
        both = a.index.intersection(b.index)
        diff_f = (b.loc[both, "FGSM"] - a.loc[both, "FGSM"]).dropna() if len(both) else pd.Series(dtype=float)
        diff_p = (b.loc[both, "PGD"] - a.loc[both, "PGD"]).dropna() if len(both) else pd.Series(dtype=float)
        out.append({"factor": factor, "from_level": ours, "to_level": theirs, "pairs": len(both),
                    "FGSM_points": diff_f.mean() if len(diff_f) else np.nan,
                    "PGD_points": diff_p.mean() if len(diff_p) else np.nan,
                    "largest_PGD_change": diff_p.abs().max() if len(diff_p) else np.nan})
    return pd.DataFrame(out)


def bottleneck_ablation(rows: pd.DataFrame) -> pd.DataFrame:
    """Part 3: the authors' VIB (MNIST, seed 0, 50 epochs) with all its parts, without one part each, and
    our VIB, in the `mean` prediction under the sound protocol (FGSM and PGD-20 at 16 and 50/255), with
    each ablation's change from the full model at 50/255 (points; negative: that part made the attacks fail)."""
    keep = ["authors", *WITHOUT, "ours"]
    sel = rows[(rows["method"] == "vib") & (rows["dataset"] == "mnist") & (rows["seed"] == 0) & (rows["epochs"] == 50)
               & (rows["mode"] == "mean") & (rows["protocol"] == "sound") & rows["variant"].isin(keep)]
    out = []
    for variant, g in sel.groupby("variant", sort=False):
        row = {"variant": variant, "epochs": 50,
               "changed": WITHOUT.get(variant, "nothing (all parts)" if variant == "authors" else "every part (our VIB)")}
        for k, e, a in zip(g["kind"], g["eps_255"], g["accuracy"]):
            row["clean" if k == "clean" else f"{'FGSM' if k == 'fgsm' else 'PGD-20'} {e:g}"] = float(a)
        out.append(row)
    table = pd.DataFrame(out, columns=ABLATION_COLUMNS)
    table["variant"] = pd.Categorical(table["variant"], keep, ordered=True)
    table = table.sort_values("variant", ignore_index=True)
    table["variant"] = table["variant"].astype(str)
    full = table[table["variant"] == "authors"]
    for col in ("FGSM 50", "PGD-20 50"):
        table[f"d {col}"] = table[col] - (full[col].iloc[0] if len(full) else np.nan)
    return table


def ablation_lines(ablation: pd.DataFrame, threshold: float = 5.0) -> list[str]:
    """In words: which parts, left out, cost the authors' VIB more than `threshold` points of FGSM at
    50/255 (the parts that make FGSM fail on it), and which do not; or what is still to run."""
    done = ablation[ablation["variant"].isin(list(WITHOUT))]
    if ablation[ablation["variant"] == "authors"].empty or done.empty:
        return [f"Part 3 not run yet ({len(done)} of {len(WITHOUT)} ablations): "
                "`python -m cibtools.paper_settings run " + " ".join(f"vib-{v}-mnist-s0" for v in WITHOUT) + "`."]
    lines = []
    full16 = ablation.loc[ablation["variant"] == "authors", "PGD-20 16"].iloc[0]
    for _, r in done.iterrows():
        matters = r["d FGSM 50"] < -threshold
        lines.append(f"With {r['changed']} (all else the authors'): FGSM {r['FGSM 50']:.1f}% and PGD-20 "
                     f"{r['PGD-20 50']:.1f}% at 50/255 ({r['d FGSM 50']:+.1f} and {r['d PGD-20 50']:+.1f} points from the "
                     f"full model), PGD-20 {r['PGD-20 16']:.1f}% at 16/255 (full model {full16:.1f}%): this part "
                     f"{'matters' if matters else 'does not matter'} (threshold {threshold:g} FGSM points at 50/255).")
    missing = [v for v in WITHOUT if v not in set(done["variant"])]
    if missing:
        lines.append(f"Still to run: {', '.join(f'vib-{v}-mnist-s0' for v in missing)}.")
    return lines


def scale_lines(scales: pd.DataFrame | None) -> list[str]:
    """In words, per model variant: the range of the std |sigma| that the trained bottlenecks use and of their
    signal-to-noise ratio sd(mu) / |sigma| (`paper_settings.run_scales` rows), so that models can be compared."""
    if scales is None or scales.empty:
        return ["No noise scales yet: `python -m cibtools.paper_settings scales` (needs the shards' checkpoints)."]
    lines = []
    for variant, g in scales.groupby("variant", sort=False):
        who = ", ".join(f"{METHOD_LABELS[m]} {d} s{s}" for m, d, s in zip(g["method"], g["dataset"], g["seed"]))
        lines.append(f"{variant}: |sigma| {g['sigma_mean'].min():.2f}-{g['sigma_mean'].max():.2f}, "
                     f"sd(mu) / |sigma| {g['snr'].min():.2f}-{g['snr'].max():.2f} ({who}).")
    return lines


def reproduces(ours: float, paper_value: float, tolerance: float = 5.0) -> bool:
    """One number reproduces the paper's when it is no more than `tolerance` points below it."""
    return ours >= paper_value - tolerance


def strong_lines(strong: pd.DataFrame | None, shard: str, best: pd.Series, eps_255: float = 50) -> list[str]:
    """What the stronger attacks of `paper_settings.run_strong` at `eps_255` (and unbounded; each on the most
    images it ran on) do to `shard`'s model, and what the strongest bounded one leaves compared with `best`'s
    FGSM and PGD."""
    if strong is None or not len(strong):
        return []
    rows = strong[(strong["shard"] == shard) & ~strong["kind"].isin(["clean", "authors_pgd"])  # theirs: factor table
                  & ((strong["eps_255"] == eps_255) | (strong["eps_255"] >= 255))]
    if rows.empty:
        return []
    rows = rows.sort_values("n", kind="stable").drop_duplicates(["attack", "eps_255"], keep="last").sort_index()
    most = int(rows["n"].max())
    parts = ", ".join(f"{a}{' at eps=1' if e >= 255 else ''}{f' (n = {n})' if n != most else ''} {v:.1f}%"
                      for a, e, n, v in zip(rows["attack"], rows["eps_255"], rows["n"], rows["accuracy"]))
    lines = [f"  Stronger attacks on that model ({shard}, mean prediction, n = {most} unless noted): {parts}."]
    bounded = rows[rows["eps_255"] < 255]
    if len(bounded):
        worst = bounded.loc[bounded["accuracy"].idxmin()]
        line = (f"  The strongest of them at {worst.eps_255:g}/255, {worst.attack}, leaves {worst.accuracy:.1f}%, "
                f"{best.FGSM - worst.accuracy:.1f} points below FGSM and {best.PGD - worst.accuracy:.1f} below PGD")
        lines.append(line + (": at this budget the model is not robust, and the accuracy FGSM and PGD leave is what "
                             "those attacks fail to find." if worst.accuracy <= 1.0 else "."))
    return lines


def small_budget_lines(strong: pd.DataFrame | None, eps_255: float = 16) -> list[str]:
    """What AutoAttack leaves at a small budget (`strong --eps-255 16 --kinds autoattack`, `mean` prediction),
    one entry per shard (on the most images it ran on), in the order the rows were written."""
    if strong is None or not len(strong):
        return []
    aa = strong[(strong["kind"] == "autoattack") & (strong["eps_255"] == eps_255)]
    aa = aa.sort_values("n", kind="stable").drop_duplicates("shard", keep="last").sort_index()
    if aa.empty:
        return []
    parts = [f"{METHOD_LABELS[r.method]}{VARIANT_LABELS.get(r.variant, f' ({r.variant})')} {r.dataset} s{r.seed} "
             f"{r.accuracy:.1f}%" for r in aa.itertuples()]
    return [f"At {eps_255:g}/255, AutoAttack (mean prediction, n = {int(aa['n'].min())}) leaves: {'; '.join(parts)}."]


def other_dataset_lines(table: pd.DataFrame, tolerance: float = 5.0) -> list[str]:
    """The authors' model on each dataset other than MNIST (whose factor lines cover it): FGSM and PGD-20 at
    50/255 in the `mean` prediction (mean over its seeds) beside the paper's numbers and our model's mean over its
    seeds, and which of the two come within `tolerance` points of the paper's."""
    at50 = table[(table["eps_255"] == 50) & table["attack"].isin(["FGSM", "PGD-20"]) & (table["mode"] == "mean")
                 & (table["dataset"] != "mnist") & table["method"].isin(["vib", "causalib"])]
    lines = []
    for (d, m), g in at50[at50["variant"] == "authors"].groupby(["dataset", "method"], sort=False):
        cells, close = [], []
        for r in g.itertuples():
            ours = at50[(at50["dataset"] == d) & (at50["method"] == m) & (at50["variant"] == "ours")
                        & (at50["attack"] == r.attack)]
            mine = f"; our model {ours['ours_mean'].iloc[0]:.1f}%, {int(ours['seeds'].iloc[0])} seed(s)" if len(ours) else ""
            cells.append(f"{r.attack} {r.ours_mean:.1f}% against the paper's {r.paper_mean:.2f}% "
                         f"({r.ours_mean - r.paper_mean:+.1f} points{mine})")
            if reproduces(r.ours_mean, r.paper_mean, tolerance):
                close.append(r.attack)
        lines.append(f"{METHOD_LABELS[m]} with the authors' model on {d} at 50/255 ({int(g['seeds'].max())} seed(s), 50 epochs, "
                     f"mean prediction, n = {int(g['n'].min())}): {', '.join(cells)}; within {tolerance:g} points of the paper: "
                     f"{' and '.join(close) if close else 'neither'}.")
    return lines


def conclusion(factors: pd.DataFrame, gaps: pd.DataFrame, table: pd.DataFrame, tolerance: float = 5.0,
               strong: pd.DataFrame | None = None, ablation: pd.DataFrame | None = None,
               rows: pd.DataFrame | None = None) -> str:
    """The verdict in plain words, written from the numbers (never from expectations). `strong`: rows of
    `paper_settings.run_strong` (stronger attacks on robust-looking models), quoted where present;
    `ablation`: `bottleneck_ablation`'s table, whose `ablation_lines` follow; `rows`: all rows, for part 4's
    lines (`reproduction`: the input scaling on every model, and the part that carries the robustness at 16/255)."""
    if factors.empty:
        return "No paper-settings rows yet: run `python -m cibtools.paper_settings run`."
    lines = []
    for m in ("vib", "causalib"):
        sub = factors[factors["method"] == m]
        if sub.empty:
            continue
        both = sub.dropna(subset=["FGSM", "PGD"])  # `authors_pgd` cells have no FGSM: they are quoted after
        if both.empty:
            lines.append(f"{METHOD_LABELS[m]} on MNIST at 50/255: no measured combination has both FGSM and PGD yet.")
            continue
        best = both.loc[both["PGD"].idxmax()]
        fgsm_ok = reproduces(best.FGSM, best["paper_FGSM"], tolerance)
        pgd_ok = reproduces(best.PGD, best["paper_PGD20"], tolerance)
        verdict = ("reproduces the paper's FGSM and PGD-20 numbers" if fgsm_ok and pgd_ok else
                   "reproduces the paper's FGSM number but not its PGD-20 number" if fgsm_ok else
                   "reproduces the paper's PGD-20 number but not its FGSM number" if pgd_ok else
                   "reproduces neither of the paper's numbers")
        lines.append(
            f"{METHOD_LABELS[m]} on MNIST at 50/255: the best of {len(both)} measured combinations with both attacks "
            f"({_cell(best)}) keeps {best.FGSM:.1f}% under FGSM and {best.PGD:.1f}% under PGD (paper: "
            f"{best['paper_FGSM']:.2f}% and {best['paper_PGD20']:.2f}%): it {verdict} (within {tolerance:g} points).")
        same = ["model", "inputs", "optimiser", "epochs"]
        theirs = sub[(sub["protocol"] == "authors_pgd") & (sub[same] == best[same]).all(axis=1)]
        if len(theirs):
            pgd = float(theirs["PGD"].iloc[0])
            lines.append(f"  Their PGD as their code computes it (protocol authors_pgd) keeps {pgd:.1f}% of the same model "
                         f"({pgd - best.PGD:+.1f} points): "
                         f"{'within' if reproduces(pgd, best['paper_PGD20'], tolerance) else 'not within'} "
                         f"{tolerance:g} points of the paper's {best['paper_PGD20']:.2f}%.")
        variant = next(v for v, levels in VARIANT_FACTORS.items()
                       if levels == (best["model"], best["inputs"], best["optimiser"]))
        shard = f"{m}-{variant}-mnist-s0"
        lines += strong_lines(strong, shard, best)
    if not any("reproduces the paper's FGSM and PGD-20" in line for line in lines):
        lines.append(f"No measured combination comes within {tolerance:g} points of both of the paper's numbers.")
    for g in gaps.itertuples():
        if g.pairs:
            fgsm = "" if np.isnan(g.FGSM_points) else f"FGSM by {g.FGSM_points:+.1f} and "
            lines.append(f"Changing the {g.factor} from {g.from_level} to {g.to_level} (all else equal) moves "
                         f"{fgsm}PGD by {g.PGD_points:+.1f} points on average ({g.pairs} pairs of cells).")
        else:
            lines.append(f"The {g.factor} ({g.from_level} vs {g.to_level}): not measured yet.")
    if not table.empty:
        at50 = table[(table["eps_255"] == 50) & (table["attack"] != "clean") & table["method"].isin(["vib", "causalib"])
                     & (table["variant"] == "ours")]
        if len(at50):
            covered = ", ".join(sorted({f"{METHOD_LABELS[m]} on {d} ({int(n)} seed(s))" for m, d, n in
                                        zip(at50["method"], at50["dataset"], at50["seeds"])}))
            lines.append(f"Our models at the paper's settings (50 epochs, all {int(at50['n'].min())} test images), "
                         f"{covered}: at most {at50['ours_mean'].max():.2f}% under FGSM or PGD-20 at 50/255, "
                         f"either prediction mode.")
        lines += other_dataset_lines(table, tolerance)
    lines += small_budget_lines(strong)
    if ablation is not None:
        lines += ablation_lines(ablation)
    if rows is not None:  # part 4: the input scaling on every model, the mechanism tests, the part that carries it
        from . import reproduction

        lines += reproduction.scaling_lines(reproduction.scaling_table(rows, strong))
        lines += reproduction.mechanism_lines(reproduction.mechanism_table(rows, strong))
        lines += reproduction.which_part_lines(reproduction.small_budget_parts(rows, strong))
    return "\n".join(lines)


def _cell(r) -> str:
    return (f"{r['model']} model, inputs in {r['inputs']}, {r['optimiser']} optimiser, {r['epochs']} epochs, "
            f"{r['protocol']} protocol")


def committed_verdict(tolerance: float = 5.0, paper_runs: int = PAPER_RUNS) -> str:
    """`conclusion` of the committed rows (`results/paper_settings/`), as notebook 11 writes it (with the authors'
    PGD rows that `strong` added: `paper_settings.verdict_rows`)."""
    from . import paper_settings

    rows = paper_settings.verdict_rows()
    strong = paper_settings.read_strong()
    factors = factor_table(rows)
    return conclusion(factors, gaps_closed(factors), paper_settings_table(rows, paper_runs), tolerance, strong,
                      bottleneck_ablation(rows), rows)
