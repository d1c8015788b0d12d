"""The linear confounded structural causal model of Sec. 3.2 (Figures 2-3, Eq. 5-9), its estimators, and
the exercises of notebook 02.

The model, exactly as the paper writes it (S: style, the unobserved confounder; R: the instrument):

    without instrument (Figure 2):  x   = w_sx s + u_x,            y   = w_xy x   + w_sy s + u_y
    with instrument    (Figure 3):  x_r = w_sx s + w_rx r + u_x,   y_r = w_xy x_r + w_sy s + u_y

s ~ N(0, sigma_s^2), r ~ N(0, sigma_r^2), u_x ~ N(0, sigma_ux^2), u_y ~ N(0, sigma_uy^2), all independent.
Two extra path coefficients, both 0 by default (then the model is the paper's), let us build *invalid*
instruments: `w_sr` (S -> R, breaks "R independent of the confounder") and `w_ry` (R -> Y, breaks
"R affects Y only through X").

Estimators work along the last axis, so a (reps, n) batch of data sets is estimated in one call.
Everything is numpy except the bridge to the engine's L_causal (`causal_loss_table`,
`causal_loss_vs_nonlinearity`), which calls `cibtools.losses` on a tiny torch decoder.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import Any, Callable, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from . import losses
from .exercises import Verdict, check_function, check_value

ESTIMATORS = ("OLS", "IV (Wald)")
COLORS = {"OLS": "#d62728", "IV (Wald)": "#1f77b4", "2SLS": "#2ca02c", "truth": "black", "formula": "#ff7f0e"}


class Sample(NamedTuple):
    """One (or a batch of) data set(s) drawn from the SCM; each array is (n,) or (reps, n)."""

    s: np.ndarray
    r: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class LinearSCM:
    """Path coefficients and noise scales of the linear confounded model (Figures 2-3)."""

    w_sx: float = 1.0      # S -> X: style shapes the data
    w_sy: float = 1.0      # S -> Y: style also shapes the label (the spurious path)
    w_xy: float = 0.5      # X -> Y: the causal effect we want
    w_rx: float = 1.0      # R -> X: the instrument moves X
    sigma_s: float = 1.0   # std of the confounder s
    sigma_r: float = 1.0   # std of the instrument r (its intensity)
    sigma_ux: float = 1.0  # std of u_x, X's own noise
    sigma_uy: float = 1.0  # std of u_y, Y's own noise
    w_sr: float = 0.0      # S -> R: 0 in the paper; non-zero makes R dependent on the confounder
    w_ry: float = 0.0      # R -> Y: 0 in the paper; non-zero lets R reach Y other than through X

    def __post_init__(self) -> None:
        for name in ("sigma_s", "sigma_r", "sigma_ux", "sigma_uy"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is a standard deviation and must be >= 0, got {getattr(self, name)}.")

    def replace(self, **changes) -> "LinearSCM":
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)

    def sample(self, n: int, seed: int = 0, instrument: bool = True, reps: int | None = None,
               r: Any = None) -> Sample:
        """Draw n units (or `reps` independent data sets of n units: arrays (reps, n)).

        instrument=False is Figure 2 (r = 0, so x is the un-intervened x); True is Figure 3 (x_r, y_r).
        `r` sets the instrument by hand, do(R = r) (a scalar or an array broadcast to the units).
        The noises are drawn in a fixed order, so the same seed gives the *same units* (same s, u_x,
        u_y) whatever `instrument` and `r` are: that is how Eq. 6-9 compare interventions on one unit.
        """
        if n < 2:
            raise ValueError(f"need n >= 2 units, got {n}")
        shape = (n,) if reps is None else (reps, n)
        rng = np.random.default_rng(seed)
        s = self.sigma_s * rng.standard_normal(shape)
        r0 = self.sigma_r * rng.standard_normal(shape)
        u_x = self.sigma_ux * rng.standard_normal(shape)
        u_y = self.sigma_uy * rng.standard_normal(shape)
        if r is not None:
            r = np.broadcast_to(np.asarray(r, dtype=float), shape).copy()
        elif instrument:
            r = r0 + self.w_sr * s
        else:
            r = np.zeros(shape)
        x = self.w_sx * s + self.w_rx * r + u_x
        y = self.w_xy * x + self.w_sy * s + self.w_ry * r + u_y
        return Sample(s, r, x, y)

    def moments(self, instrument: bool = True) -> dict:
        """Population variances and covariances of (s, r, x, y), in closed form from the parameters."""
        var_s = self.sigma_s ** 2
        if instrument:
            var_r, cov_rs, w_rx, w_ry = self.sigma_r ** 2 + self.w_sr ** 2 * var_s, self.w_sr * var_s, self.w_rx, self.w_ry
        else:
            var_r = cov_rs = w_rx = w_ry = 0.0
        cov_xs = self.w_sx * var_s + w_rx * cov_rs
        cov_rx = self.w_sx * cov_rs + w_rx * var_r
        var_x = self.w_sx ** 2 * var_s + w_rx ** 2 * var_r + 2 * self.w_sx * w_rx * cov_rs + self.sigma_ux ** 2
        cov_xy = self.w_xy * var_x + self.w_sy * cov_xs + w_ry * cov_rx
        cov_ry = self.w_xy * cov_rx + self.w_sy * cov_rs + w_ry * var_r
        return dict(var_s=var_s, var_r=var_r, cov_rs=cov_rs, cov_xs=cov_xs, cov_rx=cov_rx, var_x=var_x,
                    cov_xy=cov_xy, cov_ry=cov_ry)


# ----------------------------------------------------------------------------- closed forms

def ols_bias_formula(scm: LinearSCM, instrument: bool = True) -> float:
    """Large-sample bias of the OLS slope of y on x: cov(x, y) / var(x) - w_xy.

    In the paper's model (w_sr = w_ry = 0) it is

        bias = w_sy * w_sx * sigma_s^2 / var(x),
        var(x) = w_sx^2 sigma_s^2 + w_rx^2 sigma_r^2 + sigma_ux^2   (x_r, instrument=True)
        var(x) = w_sx^2 sigma_s^2 + sigma_ux^2                       (x,   instrument=False):

    the confounding path's covariance divided by all of x's variance. The instrument adds variance to
    x that is free of s, so it dilutes (but never removes) the bias.
    """
    if scm.w_sr == 0 and scm.w_ry == 0:  # the paper's model, written out
        var_x = scm.w_sx ** 2 * scm.sigma_s ** 2 + (scm.w_rx ** 2 * scm.sigma_r ** 2 if instrument else 0.0) \
            + scm.sigma_ux ** 2
        return scm.w_sy * scm.w_sx * scm.sigma_s ** 2 / var_x if var_x > 0 else float("nan")  # x constant: no slope
    m = scm.moments(instrument)  # general case: invalid instruments also open R -> Y and S -> R
    w_ry = scm.w_ry if instrument else 0.0
    return (scm.w_sy * m["cov_xs"] + w_ry * m["cov_rx"]) / m["var_x"] if m["var_x"] > 0 else float("nan")


def iv_bias_formula(scm: LinearSCM) -> float:
    """Large-sample bias of the Wald estimate, cov(r, y) / cov(r, x) - w_xy.

    = (w_sy cov(r, s) + w_ry var(r)) / cov(r, x): zero exactly when R is independent of S and has no
    path to Y but through X (the two instrument conditions of Sec. 3.2); undefined (inf) when
    cov(r, x) = 0, i.e. when R does not move X at all.
    """
    m = scm.moments(instrument=True)
    if m["cov_rx"] == 0:
        return float("inf")
    return (scm.w_sy * m["cov_rs"] + scm.w_ry * m["var_r"]) / m["cov_rx"]


# ----------------------------------------------------------------------------- estimators (last axis)

def _cov(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return ((a - a.mean(-1, keepdims=True)) * (b - b.mean(-1, keepdims=True))).mean(-1)


def ols_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slope of the least-squares line of y on x (with intercept): cov(x, y) / var(x)."""
    return _cov(x, y) / _cov(x, x)


def iv_wald(r: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Instrumental-variable (Wald) estimate cov(r, y) / cov(r, x): Eq. 7 at the population level.

    Eq. 8 says y moves by w_xy * w_rx * r and x by w_rx * r when r moves, and nothing else that moves
    with r (s is independent of r), so the ratio of the two covariances with r is w_xy.
    """
    return _cov(r, y) / _cov(r, x)


def iv_wald_grouped(r: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Eq. 7 applied to averages: split the units by the sign of r into two 'interventions' i, j and
    return (mean y_i - mean y_j) / (mean x_i - mean x_j) (the classical Wald estimator)."""
    hi = np.asarray(r) > 0
    mean = lambda v, m: np.where(m, v, 0).sum(-1) / m.sum(-1)  # noqa: E731
    return (mean(y, hi) - mean(y, ~hi)) / (mean(x, hi) - mean(x, ~hi))


def two_stage_least_squares(r: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """2SLS with two explicit regressions: (1) x on r gives the fitted x_hat = a + b r, the part of x
    that the instrument explains; (2) y on x_hat. With one instrument it equals `iv_wald`."""
    r, x, y = (np.asarray(v, float) for v in (r, x, y))
    b = ols_slope(r, x)[..., None]
    a = x.mean(-1, keepdims=True) - b * r.mean(-1, keepdims=True)
    x_hat = a + b * r
    return ols_slope(x_hat, y)


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def ols_ci(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS slope with its asymptotic standard error and confidence interval: (estimate, low, high)."""
    b = ols_slope(x, y)
    n = np.shape(x)[-1]
    resid = y - y.mean(-1, keepdims=True) - b[..., None] * (x - x.mean(-1, keepdims=True))
    se = np.sqrt((resid ** 2).sum(-1) / (n - 2) / (n * _cov(x, x)))
    return b, b - _z(level) * se, b + _z(level) * se


def iv_ci(r: np.ndarray, x: np.ndarray, y: np.ndarray, level: float = 0.95):
    """Wald estimate with its asymptotic standard error sqrt(var(e) var(r) / n) / |cov(r, x)|, where
    e = y - b x is the structural residual: (estimate, low, high)."""
    b = iv_wald(r, x, y)
    n = np.shape(x)[-1]
    resid = y - y.mean(-1, keepdims=True) - b[..., None] * (x - x.mean(-1, keepdims=True))
    se = np.sqrt((resid ** 2).sum(-1) / (n - 2) * _cov(r, r) / n) / np.abs(_cov(r, x))
    return b, b - _z(level) * se, b + _z(level) * se


def bootstrap_ci(estimator: Callable, arrays: tuple, n_boot: int = 500, seed: int = 0, level: float = 0.95,
                 chunk: int = 100) -> tuple[float, float, float]:
    """Percentile bootstrap of `estimator(*arrays)` for one data set (1-D arrays): (estimate, low, high)."""
    arrays = tuple(np.asarray(a, float) for a in arrays)
    n = arrays[0].shape[-1]
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        draws.append(estimator(*(a[idx] for a in arrays)))
    draws = np.concatenate(draws)
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(estimator(*arrays)), float(lo), float(hi)


def estimate_table(sample: Sample, scm: LinearSCM | None = None, level: float = 0.95,
                   n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
    """OLS, IV (Wald: covariances and grouped) and 2SLS on one data set, with confidence intervals.

    With `scm`, adds the truth w_xy and each estimator's large-sample value from the closed forms.
    n_boot > 0 adds percentile-bootstrap intervals beside the asymptotic ones.
    """
    s, r, x, y = sample
    rows = []
    ests = {"OLS": (ols_slope, (x, y), ols_ci(x, y, level)),
            "IV (Wald)": (iv_wald, (r, x, y), iv_ci(r, x, y, level)),
            "IV (Wald, grouped by sign of r)": (iv_wald_grouped, (r, x, y), None),
            "2SLS": (two_stage_least_squares, (r, x, y), iv_ci(r, x, y, level))}
    for name, (fn, args, ci) in ests.items():
        row = {"estimator": name, "estimate": float(fn(*args))}
        if ci is not None:
            row.update(ci_low=float(ci[1]), ci_high=float(ci[2]))
        if n_boot:
            _, row["boot_low"], row["boot_high"] = bootstrap_ci(fn, args, n_boot, seed, level)
        if scm is not None:
            row["truth w_xy"] = scm.w_xy
            instrumented = bool(np.any(r != 0))
            row["large-sample value"] = scm.w_xy + (ols_bias_formula(scm, instrumented) if name == "OLS"
                                                    else iv_bias_formula(scm))
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- sweeps for the figures

def _estimate_batch(smp: Sample, level: float) -> dict:
    ols = ols_ci(smp.x, smp.y, level)
    iv = iv_ci(smp.r, smp.x, smp.y, level)
    return {"OLS": ols, "IV (Wald)": iv}


def estimates_vs_n(scm: LinearSCM, ns, reps: int = 100, seed: int = 0, level: float = 0.95,
                   max_block: int = 1_000_000) -> pd.DataFrame:
    """OLS and IV on `reps` independent data sets for every sample size n in `ns`.

    Returns one row per (n, rep, estimator): estimate, ci_low, ci_high (asymptotic) and `covers`
    (whether the interval contains the true w_xy). Data sets are drawn in blocks of at most
    `max_block` numbers per array to bound memory.
    """
    frames = []
    for k, n in enumerate(ns):
        block = max(1, max_block // int(n))
        for start in range(0, reps, block):
            m = min(block, reps - start)
            smp = scm.sample(int(n), seed=seed + 7919 * k + start, reps=m)
            for name, (est, lo, hi) in _estimate_batch(smp, level).items():
                frames.append(pd.DataFrame({"n": int(n), "rep": np.arange(start, start + m), "estimator": name,
                                            "estimate": est, "ci_low": lo, "ci_high": hi}))
    df = pd.concat(frames, ignore_index=True)
    df["covers"] = (df.ci_low <= scm.w_xy) & (scm.w_xy <= df.ci_high)
    return df


def summarise_estimates(df: pd.DataFrame, by: str = "n", level: float = 0.95) -> pd.DataFrame:
    """Per `by` value and estimator: median estimate, the central `level` range of the estimates over
    replications, the average interval of one data set, and the intervals' coverage of w_xy."""
    q = [(1 - level) / 2, (1 + level) / 2]
    g = df.groupby([by, "estimator"], sort=True)
    out = g.estimate.agg(median="median", q_low=lambda v: v.quantile(q[0]), q_high=lambda v: v.quantile(q[1]))
    if "ci_low" in df:
        out["mean_ci_low"], out["mean_ci_high"] = g.ci_low.mean(), g.ci_high.mean()
        out["coverage"] = g.covers.mean()
    return out.reset_index()


def estimates_vs_confounding(scm: LinearSCM, strengths, n: int = 2000, reps: int = 50, seed: int = 0,
                             vary: str = "w_sy") -> pd.DataFrame:
    """OLS and IV as the confounding grows: `vary` in {"w_sy", "w_sx", "both"} is set to each strength.

    One row per (strength, rep, estimator) with the estimate, plus `formula`: the closed-form
    large-sample value of that estimator (w_xy + bias) at that strength.
    """
    if vary not in ("w_sy", "w_sx", "both"):
        raise ValueError(f"vary must be 'w_sy', 'w_sx' or 'both', got {vary!r}")
    frames = []
    for k, c in enumerate(strengths):
        m = scm.replace(w_sx=c, w_sy=c) if vary == "both" else scm.replace(**{vary: c})
        smp = m.sample(n, seed=seed + 104729 * k, reps=reps)
        formulas = {"OLS": m.w_xy + ols_bias_formula(m), "IV (Wald)": m.w_xy + iv_bias_formula(m)}
        for name, (est, lo, hi) in _estimate_batch(smp, 0.95).items():
            frames.append(pd.DataFrame({"strength": float(c), "rep": np.arange(reps), "estimator": name,
                                        "estimate": est, "ci_low": lo, "ci_high": hi, "formula": formulas[name]}))
    df = pd.concat(frames, ignore_index=True)
    df["covers"] = (df.ci_low <= scm.w_xy) & (scm.w_xy <= df.ci_high)
    return df


# ----------------------------------------------------------------------------- instrument conditions

def _corr_z(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Correlation and its Fisher z statistic sqrt(n - 3) atanh(corr) (about N(0, 1) when independent)."""
    va, vb = _cov(a, a), _cov(b, b)
    rho = 0.0 if va == 0 or vb == 0 else float(_cov(a, b) / np.sqrt(va * vb))
    rho = float(np.clip(rho, -0.999999, 0.999999))
    return rho, float(np.sqrt(len(a) - 3) * np.arctanh(rho))


def instrument_checks(sample: Sample, w_xy: float, z_crit: float = 3.29, f_min: float = 10.0) -> pd.DataFrame:
    """Check the instrument conditions of Sec. 3.2 on a simulated data set.

    0) relevance: R moves X (first-stage F = n rho^2 / (1 - rho^2) above `f_min`, the rule of thumb);
    1) independence: R is uncorrelated with the confounder S (|Fisher z| below `z_crit`, two-sided
       p > 0.001) -- only checkable in a simulation, where S is observed;
    2) exclusion: R is uncorrelated with Y's structural residual y - w_xy x = w_sy s + u_y, i.e. R
       reaches Y only through X -- needs the true w_xy, again only in a simulation.
    """
    s, r, x, y = (np.ravel(v) for v in sample)
    n = len(r)
    rho_rx, _ = _corr_z(r, x)
    f_stat = n * rho_rx ** 2 / (1 - rho_rx ** 2)
    rho_rs, z_rs = _corr_z(r, s)
    rho_re, z_re = _corr_z(r, y - w_xy * x)
    rows = [
        ("relevance: R moves X", "corr(r, x)", rho_rx, "first-stage F", f_stat, f"F > {f_min:g}", f_stat > f_min),
        ("independence: R independent of S", "corr(r, s)", rho_rs, "|Fisher z|", abs(z_rs), f"< {z_crit:g}",
         abs(z_rs) < z_crit),
        ("exclusion: R affects Y only through X", "corr(r, y - w_xy x)", rho_re, "|Fisher z|", abs(z_re),
         f"< {z_crit:g}", abs(z_re) < z_crit),
    ]
    return pd.DataFrame(rows, columns=["condition", "correlation", "value", "test", "statistic", "threshold",
                                       "passed"])


# ----------------------------------------------------------------------------- Eq. 6-9 and L_causal

def eq7_unit_level(scm: LinearSCM, n: int, seed: int = 0, r_i: float = 1.0, r_j: float = -1.0) -> np.ndarray:
    """Eq. 6-7 on the same units under two interventions do(R = r_i), do(R = r_j):
    (y_ri - y_rj) / (x_ri - x_rj) per unit. s, u_x, u_y are held fixed (same seed), so this is exactly
    w_xy for every unit: the controlled direct effect of Eq. 5."""
    a, b = scm.sample(n, seed, r=r_i), scm.sample(n, seed, r=r_j)
    return (a.y - b.y) / (a.x - b.x)


def response_function(kind: str | Callable = "linear", w_xy: float = 0.5, nonlinearity: float = 1.0) -> Callable:
    """How Y responds to X: `linear` w_xy x (the paper's model); `tanh` w_xy [(1 - a) x + a tanh(x)], which
    is linear at a = `nonlinearity` = 0 and bends more as a grows to 1; or any callable f(x)."""
    if callable(kind):
        return kind
    if kind == "linear":
        return lambda x: w_xy * x
    if kind == "tanh":
        return lambda x: w_xy * ((1 - nonlinearity) * x + nonlinearity * np.tanh(x))
    raise ValueError(f"response must be 'linear', 'tanh' or a function, got {kind!r}")


def effect_ratios(scm: LinearSCM, n_units: int = 200, n_draws: int = 12, seed: int = 0,
                  response: str | Callable = "linear", nonlinearity: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 8-9 per unit: draw n_draws additive-noise instruments r_i for each unit and return
    (r, w), both (n_draws, n_units), with w_i = (Y[X = x_{r_i}] - Y[X = x]) / r_i.

    The structural equation is y = f(x) + w_sy s + u_y with f from `response_function`; s, u_x, u_y
    stay fixed per unit and x_{r_i} = x + w_rx r_i. For the linear f of the paper every w_i equals
    w_rx * w_xy (Eq. 9); for a curved f it depends on the draw.
    """
    f = response_function(response, scm.w_xy, nonlinearity)
    base = scm.sample(n_units, seed, instrument=False)  # Figure 2's x for these units
    rng = np.random.default_rng(seed + 1)
    r = scm.sigma_r * rng.standard_normal((n_draws, n_units))
    x_r = base.x + scm.w_rx * r
    y0 = f(base.x) + scm.w_sy * base.s      # Y[X = x]   (u_y cancels in the difference)
    y_r = f(x_r) + scm.w_sy * base.s        # Y[X = x_r]
    return r, (y_r - y0) / r


def ratio_spread(w: np.ndarray, norm: str = "l1") -> float:
    """Eq. 10's spread of the w_i, computed by the engine (`cibtools.losses.pairwise_spread`):
    the mean over units of the mean over pairs i != j of |w_i - w_j|. w: (n_draws, n_units)."""
    t = torch.as_tensor(np.asarray(w, dtype=np.float64)).unsqueeze(-1)
    return float(losses.pairwise_spread(t, norm, "mean"))


class CurvedDecoder(nn.Module):
    """A tiny decoder K -> H -> C, z -> W2 [(1 - a) h + a tanh(h)] with h = W1 z: exactly linear at
    a = `nonlinearity` = 0, a tanh MLP at a = 1. Weights fixed by `seed`; float64 so that 'zero' is ~1e-16."""

    def __init__(self, k: int = 8, hidden: int = 16, classes: int = 3, nonlinearity: float = 1.0, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = nn.Parameter(torch.randn(k, hidden, generator=g, dtype=torch.float64) / k ** 0.5)
        self.w2 = nn.Parameter(torch.randn(hidden, classes, generator=g, dtype=torch.float64) / hidden ** 0.5)
        self.nonlinearity = float(nonlinearity)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z @ self.w1
        a = self.nonlinearity
        return ((1 - a) * h + a * torch.tanh(h)) @ self.w2


def _codes(batch: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, k, generator=g, dtype=torch.float64)
    sigma = 0.5 + torch.rand(batch, k, generator=g, dtype=torch.float64)
    return mu, sigma


def causal_loss_table(seed: int = 0, k: int = 8, classes: int = 3, batch: int = 64, n_draws: int = 12) -> pd.DataFrame:
    """L_causal (the engine's `cibtools.losses.causal_loss`, pair_reduction='mean') of a tiny decoder on
    random codes mu, sigma, for a linear and a curved decoder, each response and each instrument."""
    mu, sigma = _codes(batch, k, seed)
    rows = []
    for decoder_name, a in (("linear", 0.0), ("tanh MLP", 1.0)):
        decoder = CurvedDecoder(k, 16, classes, a, seed)
        for response in ("logits", "probs"):
            for instrument in ("scaled", "reparam"):
                cfg = losses.CausalConfig(response=response, instrument=instrument, n_draws=n_draws,
                                          pair_reduction="mean")
                torch.manual_seed(seed)
                with torch.no_grad():
                    value = float(losses.causal_loss(decoder, mu, sigma, cfg))
                rows.append({"decoder": decoder_name, "response": response, "instrument": instrument,
                             "L_causal": value})
    return pd.DataFrame(rows)


def causal_loss_vs_nonlinearity(levels, scm: LinearSCM | None = None, seed: int = 0, k: int = 8,
                                batch: int = 64, n_draws: int = 12, n_units: int = 200) -> pd.DataFrame:
    """As the response bends (nonlinearity a from 0 = linear to 1 = tanh), the spread of the effect ratios
    grows from 0: for the scalar SCM (`ratio_spread` of `effect_ratios` with the tanh response) and for
    the engine's L_causal on the tiny `CurvedDecoder` (logits response, scaled instrument)."""
    scm = scm or LinearSCM()
    mu, sigma = _codes(batch, k, seed)
    cfg = losses.CausalConfig(response="logits", instrument="scaled", n_draws=n_draws, pair_reduction="mean")
    rows = []
    for a in levels:
        _, w = effect_ratios(scm, n_units, n_draws, seed, response="tanh", nonlinearity=a)
        torch.manual_seed(seed)
        with torch.no_grad():
            loss = float(losses.causal_loss(CurvedDecoder(k, 16, 3, a, seed), mu, sigma, cfg))
        rows.append({"nonlinearity": float(a), "SCM ratio spread": ratio_spread(w), "L_causal (tiny decoder)": loss})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- figures

def plot_causal_graph(ax: plt.Axes, instrument: bool = True, scm: LinearSCM | None = None) -> plt.Axes:
    """Figure 2 (instrument=False) or Figure 3 (True): S -> X, S -> Y, X -> Y (and R -> X)."""
    pos = {"S": (0.5, 0.8), "X": (0.25, 0.25), "Y": (0.75, 0.25), "R": (0.0, 0.8)}
    names = {"S": "S\nstyle\n(hidden)", "X": "X\ndata", "Y": "Y\nlabel", "R": "R\ninstrument\n(noise)"}
    nodes = ["S", "X", "Y"] + (["R"] if instrument else [])
    w = scm or LinearSCM()
    edges = [("S", "X", "w_{sx}", w.w_sx), ("S", "Y", "w_{sy}", w.w_sy), ("X", "Y", "w_{xy}", w.w_xy)]
    if instrument:
        edges.append(("R", "X", "w_{rx}", w.w_rx))
    for a, b, label, value in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        color = "#1f77b4" if (a, b) == ("X", "Y") else ("#2ca02c" if a == "R" else "#d62728")
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya),
                    arrowprops=dict(arrowstyle="-|>", lw=2, color=color, shrinkA=30, shrinkB=30, mutation_scale=18))
        text = f"${label}$" + (f" = {value:g}" if scm is not None else "")
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        nx, ny = -(yb - ya), xb - xa  # normal to the edge, pointed away from the middle of the graph
        norm = np.hypot(nx, ny)
        nx, ny = nx / norm, ny / norm
        if nx * (mx - 0.45) + ny * (my - 0.5) < 0:
            nx, ny = -nx, -ny
        ha = "right" if nx < -0.3 else ("left" if nx > 0.3 else "center")
        ax.text(mx + 0.035 * nx, my + 0.05 * ny, text, ha=ha, va="center", fontsize=10, color=color)
    for node in nodes:
        dashed = node == "S"
        ax.add_patch(plt.Circle(pos[node], 0.11, facecolor="#f4f4f4", edgecolor="black", lw=1.5,
                                ls="--" if dashed else "-", zorder=3))
        ax.text(*pos[node], names[node], ha="center", va="center", fontsize=9, zorder=4)
    ax.set(xlim=(-0.15, 0.92), ylim=(0.1, 0.95), aspect="equal")
    ax.axis("off")
    eqs = (r"$x_r = w_{sx}s + w_{rx}r + u_x$" "\n" r"$y_r = w_{xy}x_r + w_{sy}s + u_y$" if instrument else
           r"$x = w_{sx}s + u_x$" "\n" r"$y = w_{xy}x + w_{sy}s + u_y$")
    ax.set_title(("Figure 3: with the instrument R" if instrument else "Figure 2: without instrument")
                 + "\n" + eqs, fontsize=10)
    return ax


def plot_estimates_vs_n(summary: pd.DataFrame, scm: LinearSCM, ax: plt.Axes, level: float = 0.95) -> plt.Axes:
    """Median estimate vs n, shaded: the central `level` of the estimates over replications, dotted: the
    average asymptotic interval of one data set; black: w_xy; orange dashed: OLS's biased limit."""
    for name, sub in summary.groupby("estimator"):
        c = COLORS[name]
        ax.plot(sub.n, sub["median"], "o-", color=c, label=f"{name}: median estimate")
        ax.fill_between(sub.n, sub.q_low, sub.q_high, color=c, alpha=0.2,
                        label=f"{name}: {level:.0%} of estimates")
        if "mean_ci_low" in sub:
            ax.plot(sub.n, sub.mean_ci_low, ":", color=c, lw=1.2)
            ax.plot(sub.n, sub.mean_ci_high, ":", color=c, lw=1.2)
    ax.axhline(scm.w_xy, color="black", lw=1.5, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    ax.axhline(scm.w_xy + ols_bias_formula(scm), color=COLORS["formula"], ls="--", lw=1.5,
               label="OLS limit $w_{xy}$ + bias formula")
    ax.set_xscale("log")
    ax.set(xlabel="sample size n (units, log scale)", ylabel="estimated effect of X on Y (slope)",
           title="Estimates vs sample size\n(dotted: average 95% CI of one data set)")
    ax.legend(fontsize=7.5, loc="best")
    return ax


def plot_estimates_vs_confounding(df: pd.DataFrame, scm: LinearSCM, ax: plt.Axes, vary: str = "w_sy",
                                  level: float = 0.95) -> plt.Axes:
    """Estimates (median and central range over replications) against the confounding strength, with
    each estimator's closed-form large-sample value."""
    summary = summarise_estimates(df, by="strength", level=level)
    for name, sub in summary.groupby("estimator"):
        c = COLORS[name]
        ax.plot(sub.strength, sub["median"], "o", color=c, label=f"{name}: median estimate")
        ax.fill_between(sub.strength, sub.q_low, sub.q_high, color=c, alpha=0.2)
    formula = df.drop_duplicates(["strength", "estimator"])
    ols = formula[formula.estimator == "OLS"]
    ax.plot(ols.strength, ols.formula, "--", color=COLORS["formula"], lw=1.5, label="OLS: $w_{xy}$ + bias formula")
    ax.axhline(scm.w_xy, color="black", lw=1.5, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    label = {"w_sy": "$w_{sy}$ (S -> Y)", "w_sx": "$w_{sx}$ (S -> X)", "both": "$w_{sx} = w_{sy}$"}[vary]
    ax.set(xlabel=f"confounding strength {label} (path coefficient, unitless)",
           ylabel="estimated effect of X on Y (slope)", title="Estimates vs confounding strength")
    ax.legend(fontsize=7.5, loc="best")
    return ax


def plot_ols_vs_iv(scm: LinearSCM, n: int = 1000, reps: int = 200, seed: int = 0, show_points: int = 400):
    """The widget's picture: one data set (y against x with the true, OLS and IV lines) and the
    distribution of both estimates over `reps` data sets of size n, with the closed-form limits."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        _draw_ols_vs_iv(a1, a2, scm, n, reps, seed, show_points)
    fig.tight_layout()
    return fig


def _draw_ols_vs_iv(a1, a2, scm, n, reps, seed, show_points):
    smp = scm.sample(n, seed)
    b_ols, b_iv = float(ols_slope(smp.x, smp.y)), float(iv_wald(smp.r, smp.x, smp.y))
    k = min(show_points, n)
    a1.scatter(smp.x[:k], smp.y[:k], s=6, alpha=0.4, color="grey", label=f"{k} of the n = {n} units")
    grid = np.linspace(np.quantile(smp.x, 0.01), np.quantile(smp.x, 0.99), 2)
    xm, ym = smp.x.mean(), smp.y.mean()
    for name, b, c in (("truth", scm.w_xy, COLORS["truth"]), ("OLS", b_ols, COLORS["OLS"]),
                       ("IV (Wald)", b_iv, COLORS["IV (Wald)"])):
        a1.plot(grid, ym + b * (grid - xm), color=c, lw=2, label=f"{name}: slope {b:.3f}")
    y_lo, y_hi = np.quantile(smp.y, [0.001, 0.999])
    pad = 0.1 * (y_hi - y_lo + 1e-9)
    a1.set_ylim(y_lo - pad, y_hi + pad)  # a wild IV slope (weak instrument) leaves the frame instead of squashing it
    a1.set(xlabel="x (data, arbitrary units)", ylabel="y (label, arbitrary units)",
           title="One data set: y against x")
    a1.legend(fontsize=8)
    batch = scm.sample(n, seed + 1, reps=reps)
    est = {"OLS": ols_slope(batch.x, batch.y), "IV (Wald)": iv_wald(batch.r, batch.x, batch.y)}
    est = {name: v[np.isfinite(v)] for name, v in est.items()}
    if not any(len(v) for v in est.values()):
        a2.text(0.5, 0.5, "x does not vary (all its sources are 0):\nno slope to estimate", ha="center",
                transform=a2.transAxes)
        return
    limit = scm.w_xy + ols_bias_formula(scm)
    marks = [scm.w_xy] + ([limit] if np.isfinite(limit) else [])
    qs = [np.quantile(v, [0.03, 0.97]) for v in est.values() if len(v)]
    lo, hi = min([q[0] for q in qs] + marks), max([q[1] for q in qs] + marks)
    lo, hi = lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9)
    bins = np.linspace(lo, hi, 50)
    for name, v in est.items():
        a2.hist(np.clip(v, lo, hi), bins=bins, alpha=0.5, color=COLORS[name], label=f"{name} (median {np.median(v):.3f})")
    a2.axvline(scm.w_xy, color="black", lw=2, label=f"truth $w_{{xy}}$ = {scm.w_xy:g}")
    a2.axvline(scm.w_xy + ols_bias_formula(scm), color=COLORS["formula"], ls="--", lw=2,
               label=f"$w_{{xy}}$ + bias formula = {scm.w_xy + ols_bias_formula(scm):.3f}")
    a2.set(xlabel="estimated slope (values beyond the axis are piled at its edges)",
           ylabel=f"data sets (of {reps})", title=f"{reps} data sets of n = {n}")
    a2.legend(fontsize=8)


def plot_effect_ratios(ax: plt.Axes, scm: LinearSCM, n_units: int = 5, n_draws: int = 40, seed: int = 0,
                       nonlinearity: float = 1.0) -> plt.Axes:
    """Eq. 9 per draw: w_i = (Y[x_{r_i}] - Y[x]) / r_i against r_i for a few units, for the linear
    response (all on the line w_rx w_xy) and the tanh response (spread out)."""
    for response, marker, color in (("linear", "o", "#1f77b4"), ("tanh", "x", "#d62728")):
        r, w = effect_ratios(scm, n_units, n_draws, seed, response=response, nonlinearity=nonlinearity)
        label = "linear response $w_{xy}x$" if response == "linear" else \
            f"non-linear response $w_{{xy}}[(1-a)x + a\\,\\tanh x]$, a = {nonlinearity:g}"
        ax.scatter(r.ravel(), w.ravel(), marker=marker, s=18, alpha=0.7, color=color, label=label)
    ax.axhline(scm.w_rx * scm.w_xy, color="black", lw=1, ls="--", label=f"$w_{{rx}}w_{{xy}}$ = {scm.w_rx * scm.w_xy:g} (Eq. 9)")
    ax.set(xlabel="instrument draw $r_i$ (noise intensity, units of x)",
           ylabel=r"$w_i = (Y[x_{r_i}] - Y[x]) / r_i$",
           title=f"Eq. 9 for {n_units} units x {n_draws} noise draws")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    return ax


def plot_spread_vs_nonlinearity(ax: plt.Axes, df: pd.DataFrame) -> plt.Axes:
    """The spread of the w_i (Eq. 10, mean over pairs) against the response's non-linearity, for the
    scalar SCM (left axis) and the engine's L_causal on a tiny decoder (right axis)."""
    ax.plot(df.nonlinearity, df["SCM ratio spread"], "o-", color="#d62728", label="scalar SCM (left axis)")
    ax.set(xlabel="non-linearity a of the response (0 = linear, 1 = tanh)",
           ylabel="SCM: mean $|w_i - w_j|$ (units of y per unit r)", title="Spread of the effects (Eq. 10): 0 only when linear")
    twin = ax.twinx()
    twin.plot(df.nonlinearity, df["L_causal (tiny decoder)"], "s--", color="#9467bd",
              label="cibtools L_causal, tiny decoder (right axis)")
    twin.set_ylabel("L_causal (logits, mean over pairs)")
    twin.grid(False)
    lines = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], fontsize=8, loc="upper left")
    ax.text(0.98, 0.04, "both exactly proportional to a:\nthe two lines coincide", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8, color="dimgray")
    return ax


def plot_causal_loss_table(ax: plt.Axes, table: pd.DataFrame, floor: float = 1e-17) -> plt.Axes:
    """L_causal of `causal_loss_table` as bars on a log scale (values below `floor` drawn at it)."""
    labels = [f"{d}\n{r}, {i}" for d, r, i in zip(table.decoder, table.response, table.instrument)]
    values = table.L_causal.clip(lower=floor)
    colors = ["#1f77b4" if d == "linear" else "#d62728" for d in table.decoder]
    ax.bar(range(len(table)), values, color=colors)
    for k, v in enumerate(table.L_causal):
        ax.text(k, max(v, floor) * 1.5, f"{v:.1e}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(floor / 10, table.L_causal.max() * 1e3)
    ax.set_xticks(range(len(table)), labels, fontsize=7, rotation=45, ha="right")
    ax.set(xlabel="decoder / CausalConfig response, instrument", ylabel="L_causal (mean over pairs, log scale)",
           title="cibtools.losses.causal_loss on a tiny decoder (~1e-15 is round-off: zero)")
    return ax


def interactive_ols_vs_iv(reps: int = 200, seed: int = 0, n_max: int = 20000):
    """An ipywidgets `interactive` with sliders for the SCM's parameters and n, redrawing `plot_ols_vs_iv`.
    Raises ImportError when ipywidgets is missing (the notebook then keeps its static figure)."""
    import ipywidgets as widgets

    fs = lambda v, lo, hi, d: widgets.FloatSlider(value=v, min=lo, max=hi, step=0.05, description=d,  # noqa: E731
                                                  continuous_update=False)
    base = LinearSCM()

    def draw(w_sx, w_sy, w_xy, w_rx, sigma_s, sigma_r, sigma_ux, sigma_uy, n):
        plot_ols_vs_iv(LinearSCM(w_sx, w_sy, w_xy, w_rx, sigma_s, sigma_r, sigma_ux, sigma_uy), n, reps, seed)
        plt.show()

    return widgets.interactive(
        draw, w_sx=fs(base.w_sx, -2, 2, "w_sx"), w_sy=fs(base.w_sy, -2, 2, "w_sy"), w_xy=fs(base.w_xy, -2, 2, "w_xy"),
        w_rx=fs(base.w_rx, 0, 2, "w_rx"), sigma_s=fs(base.sigma_s, 0, 2, "sigma_s"),
        sigma_r=fs(base.sigma_r, 0.05, 2, "sigma_r"), sigma_ux=fs(base.sigma_ux, 0, 2, "sigma_ux"),
        sigma_uy=fs(base.sigma_uy, 0, 2, "sigma_uy"),
        n=widgets.IntSlider(value=1000, min=50, max=n_max, step=50, description="n", continuous_update=False))


# ----------------------------------------------------------------------------- exercises

EXERCISE_BIAS_SCM = LinearSCM(w_sx=2.0, w_sy=-1.0, w_xy=1.0, w_rx=1.5, sigma_s=1.0, sigma_r=1.0, sigma_ux=0.5)

_IV_HINT = ("Eq. 7 compares how much y moves with how much x moves when only the instrument r moves. "
            "With data, 'moves with r' is a covariance with r.")


def check_iv_estimator(student: Callable) -> Verdict:
    """Exercise 1: `student(r, x, y)` must return the IV estimate of w_xy for 1-D arrays r, x, y.
    Checked on five data sets from different SCMs against `iv_wald`."""
    scms = [LinearSCM(), LinearSCM(w_sx=2, w_sy=-1, w_xy=1.5), LinearSCM(w_xy=-0.7, w_rx=0.6, sigma_r=2),
            LinearSCM(w_sx=0.3, w_sy=2, w_xy=0.0, sigma_uy=3), LinearSCM(w_sx=-1, w_sy=1, w_xy=2, sigma_ux=0.2)]
    cases = [tuple(m.sample(500, seed=11 + i)[1:]) for i, m in enumerate(scms)]
    verdict = check_function(student, iv_wald, cases, _IV_HINT, rtol=1e-3)
    if not verdict and callable(student):
        try:  # a common mistake gets its own hint
            got = float(student(*cases[1]))
            if np.isclose(got, float(ols_slope(cases[1][1], cases[1][2])), rtol=1e-3):
                return Verdict(False, "your function returns the OLS slope of y on x, which the confounder s "
                                      "biases. Hint: use the instrument r, which s does not touch.")
            if np.isclose(got, 1 / float(iv_wald(*cases[1])), rtol=1e-3):
                return Verdict(False, "your ratio is upside down. Hint: " + _IV_HINT)
        except Exception:  # noqa: BLE001 - the verdict above already names the error
            pass
    return verdict


def check_ols_bias(answer: Any, scm: LinearSCM = EXERCISE_BIAS_SCM) -> Verdict:
    """Exercise 2: the large-sample OLS bias cov(x_r, y_r) / var(x_r) - w_xy for `scm`, with the instrument
    in x. Accepted within 2 %; common slips (the slope instead of the bias, a forgotten variance
    term, a wrong sign) get their own hint."""
    hint = ("the bias is the covariance that the back-door path X <- S -> Y adds, divided by the variance "
            "of x; write var(x_r) from x_r = w_sx s + w_rx r + u_x with independent s, r, u_x.")
    verdict = check_value(answer, ols_bias_formula(scm, True), hint, rtol=0.02, what="your predicted bias")
    if verdict or answer is None or answer is Ellipsis:
        return verdict
    try:
        got = float(answer)
    except (TypeError, ValueError):
        return verdict
    truth = ols_bias_formula(scm, True)
    if np.isclose(got, scm.w_xy + truth, rtol=0.02):
        return Verdict(False, "that is the OLS slope itself; the bias is the slope minus the true w_xy.")
    if np.isclose(got, -truth, rtol=0.02):
        return Verdict(False, "the size is right but the sign is not: look at the signs of w_sx and w_sy.")
    if np.isclose(got, ols_bias_formula(scm, False), rtol=0.02):
        return Verdict(False, "you used the variance of x without the instrument: here x is x_r, and the "
                              "instrument adds w_rx^2 sigma_r^2 to its variance.")
    return verdict


_CANDIDATES = {  # name -> (SCM with that candidate as R, why it is not valid, or None)
    "A": (LinearSCM(w_sr=0.8), "candidate A moves together with the style s (look at corr(r, s)): it breaks "
                                "condition 1 of Sec. 3.2, independence of the confounder."),
    "B": (LinearSCM(w_ry=0.7), "candidate B also reaches y directly, not only through x (look at "
                                "corr(r, y - w_xy x)): it breaks condition 2, exclusion."),
    "C": (LinearSCM(), None),
    "D": (LinearSCM(w_rx=0.02), "candidate D hardly moves x (look at corr(r, x) and the first-stage F): "
                                 "a weak instrument makes the Wald ratio divide by almost zero."),
}


def exercise_candidates(n: int = 5000, seed: int = 3) -> dict[str, Sample]:
    """Exercise 3: four candidate instruments, each a simulated data set (s, r, x, y) with w_xy = 0.5."""
    return {name: m.sample(n, seed + i) for i, (name, (m, _)) in enumerate(_CANDIDATES.items())}


def check_instrument_choice(answer: Any) -> Verdict:
    """Exercise 3: which candidate of `exercise_candidates` is a valid instrument? Answer with its letter."""
    hint = "a valid instrument moves x, is independent of s, and reaches y only through x (try instrument_checks)."
    if answer is None or answer is Ellipsis:
        return Verdict(False, f"your answer is still empty: replace the `...` with a letter. Hint: {hint}")
    if isinstance(answer, (list, tuple, set)):
        if len(answer) != 1:
            return Verdict(False, f"exactly one candidate is valid; you named {len(answer)}. Hint: {hint}")
        answer = next(iter(answer))
    name = str(answer).strip().upper()
    if name not in _CANDIDATES:
        return Verdict(False, f"answer with one of the letters {', '.join(_CANDIDATES)}, not {answer!r}.")
    why = _CANDIDATES[name][1]
    if why is None:
        return Verdict(True, f"candidate {name} passes all three conditions, and its Wald estimate is consistent.")
    return Verdict(False, why)
