"""The linear confounded structural causal model of Sec. 3.2 (Figures 2-3, Eq. 5-9) and its estimators:
one job, simulating the model and estimating its causal coefficient (its figures are `cibtools.scm_plots`,
notebook 02's exercise checkers `cibtools.exercises`).

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

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import losses

ESTIMATORS = ("OLS", "IV (Wald)")

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


def _residual_variance(x: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Variance of the residual y - b x (centred, n - 2 degrees of freedom), along the last axis."""
    resid = y - y.mean(-1, keepdims=True) - b[..., None] * (x - x.mean(-1, keepdims=True))
    return (resid ** 2).sum(-1) / (np.shape(x)[-1] - 2)


def ols_ci(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS slope with its asymptotic standard error and confidence interval: (estimate, low, high)."""
    b = ols_slope(x, y)
    se = np.sqrt(_residual_variance(x, y, b) / (np.shape(x)[-1] * _cov(x, x)))
    return b, b - _z(level) * se, b + _z(level) * se


def iv_ci(r: np.ndarray, x: np.ndarray, y: np.ndarray, level: float = 0.95):
    """Wald estimate with its asymptotic standard error sqrt(var(e) var(r) / n) / |cov(r, x)|, where
    e = y - b x is the structural residual: (estimate, low, high)."""
    b = iv_wald(r, x, y)
    se = np.sqrt(_residual_variance(x, y, b) * _cov(r, r) / np.shape(x)[-1]) / np.abs(_cov(r, x))
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


def ols_bias_table(scm: LinearSCM, n: int, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """OLS on one data set of n units without (Figure 2) and with (Figure 3) the instrument, against
    `ols_bias_formula`: one row each with the slope, its confidence interval, the measured bias, the
    formula, and whether w_xy + formula lies inside the interval. Same seed, so the same units."""
    rows = []
    for instrument in (False, True):
        _, _, x, y = scm.sample(n, seed=seed, instrument=instrument)
        slope, low, high = map(float, ols_ci(x, y, level))
        formula = ols_bias_formula(scm, instrument)
        rows.append({"data": "x_r (Figure 3)" if instrument else "x (Figure 2)", "n": n, "OLS slope": slope,
                     f"{level:.0%} CI low": low, f"{level:.0%} CI high": high, "true w_xy": scm.w_xy,
                     "measured bias": slope - scm.w_xy, "bias formula": formula,
                     "formula inside CI": bool(low <= scm.w_xy + formula <= high)})
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


def _causal_loss(decoder: nn.Module, mu: torch.Tensor, sigma: torch.Tensor, cfg, seed: int) -> float:
    """The engine's `losses.causal_loss`, seeded (its noise draws use torch's global generator)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return float(losses.causal_loss(decoder, mu, sigma, cfg))


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
                rows.append({"decoder": decoder_name, "response": response, "instrument": instrument,
                             "L_causal": _causal_loss(decoder, mu, sigma, cfg, seed)})
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
        loss = _causal_loss(CurvedDecoder(k, 16, 3, a, seed), mu, sigma, cfg, seed)
        rows.append({"nonlinearity": float(a), "SCM ratio spread": ratio_spread(w), "L_causal (tiny decoder)": loss})
    return pd.DataFrame(rows)
