"""The information bottleneck made checkable (Sec. 3.1 and Appendix A.1, Eq. 1-4 and 12-23): one job,
computing the information quantities of notebook 01 (its figures are `cibtools.ib_plots`, its exercise
checkers `cibtools.exercises`).

Two parts, shared by notebook 01 and `tests/test_ib_theory.py`:

1. A jointly Gaussian toy, the Markov chain Y <- X -> Z of Fig. 5 with
   X ~ N(0, Sigma_x), Y = B X + N(0, Sigma_n) and the encoder Z = A X + N(0, Sigma_e).
   Every mutual information is a log-determinant, so the variational bounds of VIB can be set
   against the truth: the upper bound on I(Z;X) of Eq. 20 and the lower bound on I(Z;Y) of
   Eq. 16/18, each in closed form and by Monte Carlo (seeded), with their exact gaps
   (a KL divergence each).
2. The VIB objective on MNIST (Eq. 4/23): the KL term and the sampled cross-entropy of a trained
   model, which place it on the information plane (one row per alpha of a sweep).

All quantities are in nats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import losses
from .data import TensorData

LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# Gaussian building blocks
# ----------------------------------------------------------------------------------------------

def logdet(cov: np.ndarray) -> float:
    """log det of a symmetric positive-definite matrix (raises ValueError when it is not PD)."""
    sign, value = np.linalg.slogdet(np.atleast_2d(cov))
    if sign <= 0:
        raise ValueError("The covariance matrix is not positive definite.")
    return float(value)


def gaussian_entropy(cov: np.ndarray) -> float:
    """Differential entropy h(N(m, cov)) = 1/2 log det(2 pi e cov), in nats (H(Y) of Eq. 16)."""
    cov = np.atleast_2d(cov)
    return 0.5 * (cov.shape[0] * (LOG_2PI + 1.0) + logdet(cov))


def mutual_information(cov_u: np.ndarray, cov_v: np.ndarray, cov_uv: np.ndarray) -> float:
    """I(U;V) of jointly Gaussian U, V: 1/2 log(det S_U det S_V / det S_UV), in nats (Eq. 13, 19).

    cov_uv is the cross-covariance Cov(U, V), shaped (dim U, dim V).
    """
    cov_u, cov_v, cov_uv = np.atleast_2d(cov_u), np.atleast_2d(cov_v), np.atleast_2d(cov_uv)
    joint = np.block([[cov_u, cov_uv], [cov_uv.T, cov_v]])
    return 0.5 * (logdet(cov_u) + logdet(cov_v) - logdet(joint))


def kl_gaussians(mean0: np.ndarray, cov0: np.ndarray, mean1: np.ndarray, cov1: np.ndarray) -> float:
    """KL[N(mean0, cov0) || N(mean1, cov1)] in closed form, in nats.

    = 1/2 [tr(S1^-1 S0) + (m1 - m0)^T S1^-1 (m1 - m0) - d + log det S1 - log det S0].
    """
    cov0, cov1 = np.atleast_2d(cov0), np.atleast_2d(cov1)
    diff = np.atleast_1d(mean1) - np.atleast_1d(mean0)
    inv1 = np.linalg.inv(cov1)
    return 0.5 * (float(np.trace(inv1 @ cov0)) + float(diff @ inv1 @ diff) - cov0.shape[0]
                  + logdet(cov1) - logdet(cov0))


def gaussian_log_density(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) for each row of x (n, d); mean may be (d,) or per row (n, d)."""
    cov = np.atleast_2d(cov)
    d = cov.shape[0]
    chol = np.linalg.cholesky(cov)
    resid = (np.asarray(x) - mean).reshape(-1, d)
    sol = np.linalg.solve(chol, resid.T)  # L^-1 (x - m)
    return -0.5 * (d * LOG_2PI + 2.0 * np.log(np.diag(chol)).sum() + (sol ** 2).sum(0))


@dataclass(frozen=True)
class McEstimate:
    """A Monte Carlo estimate: the sample mean, its standard error, the sample size and the seed."""

    value: float
    stderr: float
    n: int
    seed: int

    def agrees_with(self, exact: float, z: float = 4.0) -> bool:
        """Whether the exact value lies within `z` standard errors of the estimate."""
        return abs(self.value - exact) <= z * self.stderr + 1e-12


def _mc(samples: np.ndarray, n: int, seed: int) -> McEstimate:
    return McEstimate(float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(n)), n, seed)


# ----------------------------------------------------------------------------------------------
# The jointly Gaussian toy: Y <- X -> Z (Fig. 5)
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GaussianToy:
    """X ~ N(0, cov_x); Y = B X + N(0, cov_n); the encoder p(z|x) = N(A x, cov_e).

    Y and Z are conditionally independent given X (the Markov chain of Fig. 5 / Eq. 14, 17).
    All means are zero. Dimensions: x (d_x), y (d_y), z (d_z); B is (d_y, d_x), A is (d_z, d_x).
    """

    cov_x: np.ndarray
    B: np.ndarray
    cov_n: np.ndarray
    A: np.ndarray
    cov_e: np.ndarray

    @classmethod
    def one_dim(cls, a: float, sigma_x: float, sigma_e: float, b: float = 1.0, sigma_n: float = 1.0) -> "GaussianToy":
        """The scalar toy X ~ N(0, sigma_x^2), Z = a X + N(0, sigma_e^2), Y = b X + N(0, sigma_n^2)."""
        m = lambda v: np.array([[float(v)]])  # noqa: E731
        return cls(m(sigma_x ** 2), m(b), m(sigma_n ** 2), m(a), m(sigma_e ** 2))

    # covariance blocks ------------------------------------------------------------------------
    @property
    def d_x(self) -> int:
        return self.cov_x.shape[0]

    @property
    def d_y(self) -> int:
        return self.B.shape[0]

    @property
    def d_z(self) -> int:
        return self.A.shape[0]

    @property
    def cov_z(self) -> np.ndarray:
        """Cov(Z) = A S_x A^T + S_e: the marginal p(z) = N(0, cov_z), which VIB replaces by r(z)."""
        return self.A @ self.cov_x @ self.A.T + self.cov_e

    @property
    def cov_y(self) -> np.ndarray:
        return self.B @ self.cov_x @ self.B.T + self.cov_n

    @property
    def cov_zx(self) -> np.ndarray:
        return self.A @ self.cov_x

    @property
    def cov_yz(self) -> np.ndarray:
        """Cov(Y, Z) = B S_x A^T: Y and Z are correlated only through X."""
        return self.B @ self.cov_x @ self.A.T

    # information quantities --------------------------------------------------------------------
    def i_zx(self) -> float:
        """The true I(Z;X) = 1/2 log det(cov_z) / det(cov_e), in nats (Eq. 19)."""
        return mutual_information(self.cov_z, self.cov_x, self.cov_zx)

    def i_zy(self) -> float:
        """The true I(Z;Y) from the joint covariance of (Z, Y), in nats (Eq. 13)."""
        return mutual_information(self.cov_z, self.cov_y, self.cov_yz.T)

    def h_y(self) -> float:
        """H(Y), the differential entropy of Y, in nats (the constant of Eq. 16)."""
        return gaussian_entropy(self.cov_y)

    def true_decoder(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """p(y|z) = N(W z + b, S) of Eq. 14, integrated over x in closed form: (W, b, S).

        W = Cov(Y,Z) Cov(Z)^-1, b = 0, S = Cov(Y) - W Cov(Z,Y).
        """
        w = self.cov_yz @ np.linalg.inv(self.cov_z)
        return w, np.zeros(self.d_y), self.cov_y - w @ self.cov_yz.T

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n ancestral draws (x, y, z): x ~ p(x), then y ~ p(y|x) and z ~ p(z|x) independently (Eq. 17)."""
        rng = np.random.default_rng(seed)
        draw = lambda cov: rng.standard_normal((n, cov.shape[0])) @ np.linalg.cholesky(cov).T  # noqa: E731
        x = draw(self.cov_x)
        y = x @ self.B.T + draw(self.cov_n)
        z = x @ self.A.T + draw(self.cov_e)
        return x, y, z


def make_toy(d_x: int = 4, d_y: int = 2, d_z: int = 3, noise_e: float = 0.5, noise_n: float = 0.1,
             seed: int = 1) -> GaussianToy:
    """A random but reproducible toy: Sigma_x = Q diag(0.5..2) Q^T, entries of A and B ~ N(0, 1/d_x),
    encoder noise Sigma_e = noise_e * I, label noise Sigma_n = noise_n * I."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d_x, d_x)))
    cov_x = q @ np.diag(np.linspace(0.5, 2.0, d_x)) @ q.T
    a = rng.standard_normal((d_z, d_x)) / math.sqrt(d_x)
    b = rng.standard_normal((d_y, d_x)) / math.sqrt(d_x)
    return GaussianToy(cov_x, b, noise_n * np.eye(d_y), a, noise_e * np.eye(d_z))


# ----------------------------------------------------------------------------------------------
# Step 1 (Eq. 13): I(Z;Y) = E log p(y|z)/p(y), by Monte Carlo
# ----------------------------------------------------------------------------------------------

def i_zy_mc(toy: GaussianToy, n: int = 200_000, seed: int = 0) -> McEstimate:
    """Monte Carlo of Eq. 13: the mean of log p(y|z) - log p(y) over draws of p(y, z)."""
    _, y, z = toy.sample(n, seed)
    w, b, s = toy.true_decoder()
    terms = gaussian_log_density(y, z @ w.T + b, s) - gaussian_log_density(y, np.zeros(toy.d_y), toy.cov_y)
    return _mc(terms, n, seed)


def fitted_decoder(toy: GaussianToy, n: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2 (Eq. 14) from samples: the least-squares regression of y on z, (W, b, residual cov).

    With many samples it recovers `toy.true_decoder()`, the p(y|z) obtained by integrating out x.
    """
    _, y, z = toy.sample(n, seed)
    design = np.hstack([z, np.ones((n, 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return coef[:-1].T, coef[-1], np.cov(resid.T).reshape(toy.d_y, toy.d_y)


# ----------------------------------------------------------------------------------------------
# Steps 3-4 (Eq. 15-18): the decoder's lower bound on I(Z;Y)
# ----------------------------------------------------------------------------------------------

def _residual_cov(toy: GaussianToy, w: np.ndarray) -> np.ndarray:
    """Cov(Y - W Z) = S_y - W S_zy - S_yz W^T + W S_z W^T."""
    return toy.cov_y - w @ toy.cov_yz.T - toy.cov_yz @ w.T + w @ toy.cov_z @ w.T


def expected_log_likelihood(toy: GaussianToy, w: np.ndarray, b: np.ndarray, s: np.ndarray) -> float:
    """E_{p(y,z)} log q(y|z) for the Gaussian decoder q(y|z) = N(W z + b, S), closed form (Eq. 18).

    It is minus the decoder's expected cross-entropy: the first term of Eq. 23 (with the sign flipped).
    """
    inv = np.linalg.inv(s)
    quad = float(np.trace(inv @ _residual_cov(toy, w))) + float(b @ inv @ b)
    return -0.5 * (toy.d_y * LOG_2PI + logdet(s) + quad)


def decoder_lower_bound(toy: GaussianToy, w: np.ndarray, b: np.ndarray, s: np.ndarray) -> float:
    """Eq. 16: I(Z;Y) >= H(Y) + E_{p(y,z)} log q(y|z), in closed form, for q(y|z) = N(W z + b, S)."""
    return toy.h_y() + expected_log_likelihood(toy, w, b, s)


def decoder_lower_bound_mc(toy: GaussianToy, w: np.ndarray, b: np.ndarray, s: np.ndarray,
                           n: int = 200_000, seed: int = 0) -> McEstimate:
    """Eq. 16 by Monte Carlo: H(Y) + the mean of log q(y|z) over ancestral draws (x, y, z) (Eq. 17)."""
    _, y, z = toy.sample(n, seed)
    return _mc(toy.h_y() + gaussian_log_density(y, z @ w.T + b, s), n, seed)


def decoder_gap(toy: GaussianToy, w: np.ndarray, b: np.ndarray, s: np.ndarray) -> float:
    """The exact slack of Eq. 16: I(Z;Y) - bound = E_z KL[p(y|z) || q(y|z)] >= 0 (Eq. 15), closed form."""
    w0, b0, s0 = toy.true_decoder()
    inv = np.linalg.inv(s)
    dw, db = w0 - w, b0 - b
    mean_term = float(np.trace(inv @ dw @ toy.cov_z @ dw.T)) + float(db @ inv @ db)
    return 0.5 * (float(np.trace(inv @ s0)) + mean_term - toy.d_y + logdet(s) - logdet(s0))


# ----------------------------------------------------------------------------------------------
# Step 5 (Eq. 19-20): the prior's upper bound on I(Z;X)
# ----------------------------------------------------------------------------------------------

def _prior(toy: GaussianToy, prior_mean: np.ndarray | None, prior_cov: np.ndarray | None):
    """The variational prior r(z) = N(m, R) as (m, R); VIB's N(0, I) where a part is None."""
    m = np.zeros(toy.d_z) if prior_mean is None else np.asarray(prior_mean, dtype=float)
    return m, (np.eye(toy.d_z) if prior_cov is None else np.atleast_2d(prior_cov))


def rate_upper_bound(toy: GaussianToy, prior_mean: np.ndarray | None = None,
                     prior_cov: np.ndarray | None = None) -> float:
    """Eq. 20: I(Z;X) <= E_x KL[p(z|x) || r(z)] in closed form, r = N(prior_mean, prior_cov).

    Defaults to VIB's prior r = N(0, I). With p(z|x) = N(A x, S_e) the expectation over x gives
    1/2 [tr(R^-1 (S_e + A S_x A^T)) + m^T R^-1 m - d_z + log det R - log det S_e].
    """
    m, r = _prior(toy, prior_mean, prior_cov)
    inv = np.linalg.inv(r)
    return 0.5 * (float(np.trace(inv @ toy.cov_z)) + float(m @ inv @ m) - toy.d_z + logdet(r) - logdet(toy.cov_e))


def rate_upper_bound_mc(toy: GaussianToy, prior_mean: np.ndarray | None = None,
                        prior_cov: np.ndarray | None = None, n: int = 200_000, seed: int = 0) -> McEstimate:
    """Eq. 20 by Monte Carlo: the mean of log p(z|x) - log r(z) over x ~ p(x), z ~ p(z|x)."""
    m, r = _prior(toy, prior_mean, prior_cov)
    x, _, z = toy.sample(n, seed)
    terms = gaussian_log_density(z, x @ toy.A.T, toy.cov_e) - gaussian_log_density(z, m, r)
    return _mc(terms, n, seed)


def rate_gap(toy: GaussianToy, prior_mean: np.ndarray | None = None, prior_cov: np.ndarray | None = None) -> float:
    """The exact slack of Eq. 20: bound - I(Z;X) = KL[p(z) || r(z)] >= 0, closed form."""
    m, r = _prior(toy, prior_mean, prior_cov)
    return kl_gaussians(np.zeros(toy.d_z), toy.cov_z, m, r)


def bound_table(toy: GaussianToy, n: int = 200_000, seed: int = 0, misspecified_scale: float = 0.5) -> pd.DataFrame:
    """Both bounds of VIB on the toy, each with a loose and a tight variational distribution.

    Rows: Eq. 20 with r = N(0, I) (VIB's prior) and r = p(z) (tight); Eq. 16 with a misspecified
    decoder q = N(s W* z, I) (s = `misspecified_scale`) and with the true p(y|z) (tight).
    Columns: truth, closed_form, monte_carlo, mc_stderr, gap (closed_form - truth), kl_gap (the
    gap predicted by the KL identity, signed like `gap`), bound_holds, mc_agrees (within 4 s.e.).
    """
    w0, b0, s0 = toy.true_decoder()
    rows = []
    for label, mean, cov in (("r(z) = N(0, I)  [VIB]", None, None), ("r(z) = p(z)  [tight]", None, toy.cov_z)):
        closed = rate_upper_bound(toy, mean, cov)
        mc = rate_upper_bound_mc(toy, mean, cov, n, seed)
        rows.append(dict(quantity="I(Z;X)", bound="upper (Eq. 20)", variational=label, truth=toy.i_zx(),
                         closed_form=closed, monte_carlo=mc.value, mc_stderr=mc.stderr,
                         kl_gap=rate_gap(toy, mean, cov), mc=mc))
    loose = (misspecified_scale * w0, b0, np.eye(toy.d_y))
    for label, (w, b, s) in ((f"q(y|z) = N({misspecified_scale:g} W* z, I)", loose),
                             ("q(y|z) = p(y|z)  [tight]", (w0, b0, s0))):
        closed = decoder_lower_bound(toy, w, b, s)
        mc = decoder_lower_bound_mc(toy, w, b, s, n, seed)
        rows.append(dict(quantity="I(Z;Y)", bound="lower (Eq. 16)", variational=label, truth=toy.i_zy(),
                         closed_form=closed, monte_carlo=mc.value, mc_stderr=mc.stderr,
                         kl_gap=-decoder_gap(toy, w, b, s), mc=mc))
    table = pd.DataFrame(rows)
    table["gap"] = table["closed_form"] - table["truth"]
    upper = table["bound"].str.startswith("upper")
    table["bound_holds"] = np.where(upper, table["closed_form"] >= table["truth"] - 1e-10,
                                    table["closed_form"] <= table["truth"] + 1e-10)
    table["mc_agrees"] = [m.agrees_with(c) for m, c in zip(table["mc"], table["closed_form"])]
    cols = ["quantity", "bound", "variational", "truth", "closed_form", "monte_carlo", "mc_stderr",
            "gap", "kl_gap", "bound_holds", "mc_agrees"]
    return table[cols]


def bound_curves(toy: GaussianToy, prior_scales: np.ndarray, decoder_scales: np.ndarray) -> dict[str, np.ndarray]:
    """The two bounds along one-parameter families that contain the tight choice at scale 1:
    r_s(z) = N(0, s Cov(Z)) for s in `prior_scales`, and q_t(y|z) = N(t W* z, S*) for t in `decoder_scales`.
    Returns the scales and the closed-form bounds ("rate", "decoder") as arrays."""
    w0, b0, s0 = toy.true_decoder()
    return {
        "prior_scales": np.asarray(prior_scales, float), "decoder_scales": np.asarray(decoder_scales, float),
        "rate": np.array([rate_upper_bound(toy, None, s * toy.cov_z) for s in prior_scales]),
        "decoder": np.array([decoder_lower_bound(toy, t * w0, b0, s0) for t in decoder_scales]),
    }


def bound_curves_mc(toy: GaussianToy, prior_scales, decoder_scales, n: int = 200_000,
                    seed: int = 0) -> dict[str, Any]:
    """`bound_curves` by Monte Carlo at a few scales: lists of `McEstimate` under "rate" and "decoder"."""
    w0, b0, s0 = toy.true_decoder()
    return {
        "prior_scales": np.asarray(prior_scales, float), "decoder_scales": np.asarray(decoder_scales, float),
        "rate": [rate_upper_bound_mc(toy, None, s * toy.cov_z, n, seed) for s in prior_scales],
        "decoder": [decoder_lower_bound_mc(toy, t * w0, b0, s0, n, seed) for t in decoder_scales],
    }


# ----------------------------------------------------------------------------------------------
# Step 6 (Eq. 22-23): the reparameterised VIB encoder and its closed-form KL
# ----------------------------------------------------------------------------------------------

def kl_check(k: int = 8, batch: int = 4, n: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """KL[N(mu, diag sigma^2) || N(0, I)] (Eq. 23's second term) in closed form vs Monte Carlo.

    Uses `cibtools.losses.kl_to_standard_normal` (the one the training loss uses) and
    `losses.kl_monte_carlo` on `batch` random (mu, sigma) in `k` dimensions; one row per example.
    """
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, k, generator=g, dtype=torch.float64)
    sigma = 0.2 + torch.rand(batch, k, generator=g, dtype=torch.float64)
    closed = losses.kl_to_standard_normal(mu, sigma)
    torch.manual_seed(seed)  # kl_monte_carlo draws from torch's global generator
    mc = losses.kl_monte_carlo(mu, sigma, n)
    table = pd.DataFrame({"example": range(batch), "closed_form": closed.numpy(), "monte_carlo": mc.numpy()})
    table["rel_diff"] = (table["monte_carlo"] - table["closed_form"]).abs() / table["closed_form"].abs()
    return table


# ----------------------------------------------------------------------------------------------
# The VIB objective on a trained model: the information plane
# ----------------------------------------------------------------------------------------------

def label_entropy(labels: torch.Tensor, n_classes: int = 10) -> float:
    """H(Y) of the empirical label distribution, in nats (log 10 = 2.303 for balanced digits)."""
    p = torch.bincount(labels.cpu(), minlength=n_classes).double()
    p = p[p > 0] / p.sum()
    return float(-(p * p.log()).sum())


@torch.no_grad()
def vib_information_terms(model: nn.Module, data: TensorData, samples: int = 12, batch_size: int = 1000,
                          seed: int = 0) -> dict[str, float]:
    """Both terms of Eq. 23 for a trained VIB model on `data`, plus its accuracy, in one pass.

    kl: mean over examples of KL[p(z|x) || N(0, I)] (nats): the Eq. 20 upper bound on I(Z;X)
        (with the data as p(x)).
    ce: mean of -log q(y|z) over the examples and `samples` reparameterised draws z = mu + sigma*eps
        (nats): by Eq. 16, H(Y) - ce is a lower bound on I(Z;Y).
    acc_mean / acc_sample: accuracy in % of the `mean` prediction (decode mu) and of the `sample`
        prediction (softmax averaged over the same draws).
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    kl_sum = ce_sum = 0.0
    correct_mean = correct_sample = 0
    for i in range(0, len(data), batch_size):
        x, y = data.images[i:i + batch_size], data.labels[i:i + batch_size]
        mu, sigma = model.head.stats(model.encoder(x))
        eps = torch.randn((samples, *mu.shape), generator=gen).to(mu)
        logits = model.head.decode(mu + sigma * eps)  # (S, B, C)
        kl_sum += float(losses.kl_to_standard_normal(mu, sigma).sum())
        ce_sum += float(losses.sampled_cross_entropy(logits, y)) * len(y)
        correct_mean += int((model.head.decode(mu).argmax(-1) == y).sum())
        avg = torch.logsumexp(logits.log_softmax(-1), 0)
        correct_sample += int((avg.argmax(-1) == y).sum())
    n = len(data)
    return {"kl": kl_sum / n, "ce": ce_sum / n, "acc_mean": 100.0 * correct_mean / n,
            "acc_sample": 100.0 * correct_sample / n, "n": n, "samples": samples}


def information_plane_row(result: Any, data: TensorData, h_y: float, samples: int = 12, seed: int = 0) -> dict:
    """One point of the alpha sweep: the test-set terms of `vib_information_terms` for a trained VIB
    `result` (a `cibtools.TrainResult`), H(Y) - ce (the Eq. 16 lower bound on I(Z;Y)), and the
    training set's KL and CE of the last epoch (running means over its batches, one draw each)."""
    last = result.history[-1] if result.history else {}
    terms = vib_information_terms(result.model, data, samples=samples, seed=seed)
    return {"alpha": result.config.alpha, **terms, "i_zy_lower": h_y - terms["ce"],
            "train_kl": last.get("kl", float("nan")), "train_ce": last.get("ce", float("nan")),
            "epochs": result.config.epochs, "train_seconds": round(result.train_seconds, 1),
            "from_cache": result.from_cache}
