"""Checkers for the notebooks' exercises: a student's answer gets a verdict and a hint, never a traceback.

A checker compares the answer with a reference computed by `cibtools` (so the solution is never
printed) and returns a `Verdict`, which is truthy when the answer is right. The topic modules
(`cibtools.ib_theory`, `cibtools.scm`) define the exercises' checkers on top of these two helpers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `ok`, and a message for the student (a hint when not ok)."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("Correct: " if self.ok else "Not yet: ") + self.message

    def _repr_markdown_(self) -> str:  # how Jupyter shows it
        return ("✅ **Correct.** " if self.ok else "❌ **Not yet.** ") + self.message


def _as_array(value: Any) -> np.ndarray | None:
    try:
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def check_value(answer: Any, expected: Any, hint: str, rtol: float = 1e-2, atol: float = 1e-6,
                what: str = "your answer") -> Verdict:
    """Whether a numeric `answer` (number, array or tensor) matches `expected` within tolerance."""
    if answer is None or answer is Ellipsis:
        return Verdict(False, f"{what} is still empty: replace the `...` with your answer. Hint: {hint}")
    got, want = _as_array(answer), _as_array(expected)
    if got is None:
        return Verdict(False, f"{what} should be a number or an array, not {type(answer).__name__}. Hint: {hint}")
    if got.shape != want.shape and got.size != want.size:
        return Verdict(False, f"{what} has shape {got.shape}, expected {want.shape}. Hint: {hint}")
    if not np.all(np.isfinite(got)):
        return Verdict(False, f"{what} contains NaN or infinity. Hint: {hint}")
    if np.allclose(got.reshape(want.shape), want, rtol=rtol, atol=atol):
        return Verdict(True, f"{what} matches the reference within a relative tolerance of {rtol:g}.")
    return Verdict(False, f"{what} is off by more than the tolerance ({rtol:g} relative). Hint: {hint}")


def check_function(student: Callable, reference: Callable, cases: Iterable[tuple], hint: str,
                   rtol: float = 1e-3, atol: float = 1e-6) -> Verdict:
    """Run the student's function and the reference on each case (a tuple of arguments) and compare.

    An exception inside the student's code becomes a hint naming the exception, not a traceback.
    """
    if not callable(student):
        return Verdict(False, f"pass a function (you passed a {type(student).__name__}). Hint: {hint}")
    for number, args in enumerate(cases, start=1):
        try:
            got = student(*args)
        except NotImplementedError:
            return Verdict(False, f"the function is not written yet (it raises NotImplementedError). Hint: {hint}")
        except Exception as error:  # noqa: BLE001 - any error in student code becomes a hint
            return Verdict(False, f"your function raised {type(error).__name__}: {error} (test case {number}). "
                                  f"Hint: {hint}")
        verdict = check_value(got, reference(*args), hint, rtol=rtol, atol=atol,
                              what=f"the result on test case {number}")
        if not verdict:
            return verdict
    return Verdict(True, f"your function agrees with the reference on {number} test cases.")


# --- Exercises of notebooks 03-08 (references computed here or by cibtools; never printed) -----------------
def check_training_steps(answer: Any) -> Verdict:
    """03, exercise 1: optimiser steps of one paper-settings model (60k images, batch 100, 50 epochs)."""
    return check_value(answer, 60000 // 100 * 50, "one step per batch; how many batches of 100 in 60,000 "
                       "images, and how many epochs?", rtol=0, atol=0.5, what="your number of steps")


def check_vib_loss(student: Callable) -> Verdict:
    """03, exercise 2: `student(logits (S, B, C), y (B,), mu (B, K), sigma (B, K), alpha)` -> VIB loss."""
    import torch

    from .losses import vib_loss

    g = torch.Generator().manual_seed(0)
    cases = []
    for s, b, k, alpha in ((1, 4, 3, 0.01), (12, 5, 8, 0.5), (3, 2, 2, 0.0)):
        cases.append((torch.randn(s, b, 10, generator=g), torch.randint(0, 10, (b,), generator=g),
                      torch.randn(b, k, generator=g), torch.rand(b, k, generator=g) + 0.1, alpha))
    return check_function(student, lambda *a: vib_loss(*a)[0], cases,
                          "cross-entropy averaged over the S draws and the batch, plus alpha times the batch mean "
                          "of 1/2 sum_k (mu^2 + sigma^2 - 1 - 2 log sigma).")


def check_standard_error(student: Callable) -> Verdict:
    """04, exercise 1: `student(accuracy_percent, n)` -> standard error of an accuracy, in points."""
    return check_function(student, lambda p, n: 100 * np.sqrt(p / 100 * (1 - p / 100) / n),
                          [(50.0, 1000), (97.2, 5000), (0.5, 10000), (100.0, 200)],
                          "each image is a Bernoulli trial; the sd of a mean of n of them is sqrt(p (1 - p) / n), "
                          "and the answer is in percentage points.")


def check_significant_gap(answer: Any) -> Verdict:
    """04, exercise 2: the smallest gap (points) that is 2 standard errors of a difference of two
    accuracies of about 50% on 5000 images each."""
    se = 100 * np.sqrt(2 * 0.25 / 5000)
    return check_value(answer, 2 * se, "the variance of a difference of two independent estimates is the sum "
                       "of their variances.", rtol=0.05, what="your gap")


def check_pair_count(answer: Any) -> Verdict:
    """05, exercise 1: ordered pairs i != j among the 12 draws of Eq. 10."""
    return check_value(answer, 12 * 11, "Eq. 10 sums over i != j: ordered pairs, so (i, j) and (j, i) both count.",
                       rtol=0, atol=0.5, what="your count")


def check_pairwise_l2(student: Callable) -> Verdict:
    """05, exercise 2: `student(w)` with w (n, B, D) -> sum over i != j of ||w_i - w_j||_2, batch mean."""
    import torch

    from .losses import pairwise_spread

    g = torch.Generator().manual_seed(1)
    cases = [(torch.randn(n, b, d, generator=g),) for n, b, d in ((2, 3, 4), (5, 1, 10), (12, 4, 10))]
    return check_function(student, lambda w: pairwise_spread(w, "l2", "sum"), cases,
                          "broadcast w[:, None] - w[None, :] to all (n, n) pairs, take the L2 norm over the last "
                          "axis, sum over both pair axes, then average over the batch.", rtol=1e-3)


def check_projection(student: Callable) -> Verdict:
    """06, exercise 1: `student(x_adv, x, eps)` -> x_adv projected onto the L-inf ball around x and [0, 1]."""
    import torch

    from .attacks import _project

    g = torch.Generator().manual_seed(2)
    cases = []
    for eps in (0.1, 0.3, 1.0):
        x = torch.rand(4, 1, 5, 5, generator=g)
        cases.append((x + 0.8 * torch.randn(4, 1, 5, 5, generator=g), x, eps))
    return check_function(student, lambda a, x, e: _project(a, x, e, "linf"), cases,
                          "clamp the perturbation x_adv - x to [-eps, eps], add it back to x, then clamp to [0, 1].")


def check_grey_budget(answer: Any) -> Verdict:
    """06, exercise 2: the smallest eps (in /255) whose ball around every image in [0, 1] holds the grey 0.5."""
    return check_value(answer, 127.5, "the worst case is a pixel at 0 or at 1: how far is it from 0.5?",
                       rtol=0, atol=0.51, what="your eps (in /255)")


def check_median_eps(student: Callable) -> Verdict:
    """07, exercise 1: `student(eps_255)` -> median minimal eps in /255 over the images an attack flips,
    where images never flipped are marked `inf` and count as larger than any budget."""
    arrays = [np.array([3.0, 9.0, np.inf, 12.0, 5.0]), np.array([np.inf, 1.0, 2.0]), np.array([7.0, 2.0, 4.0, 8.0])]
    return check_function(student, lambda e: float(np.median(np.sort(e))), [(a,) for a in arrays],
                          "np.median over all images; an inf (never flipped) sorts last and can itself be the median.",
                          rtol=1e-6)


def check_sign_test(student: Callable) -> Verdict:
    """07, exercise 2: `student(wins, losses)` -> two-sided exact sign test p-value."""
    from .visual import sign_test

    return check_function(student, sign_test, [(10, 2), (50, 50), (0, 7), (30, 12)],
                          "under the null each non-tied pair is a fair coin: double the binomial tail "
                          "P(K <= min(wins, losses)) with n = wins + losses and p = 1/2, capped at 1.", rtol=1e-6)


def check_pooled_accuracy(student: Callable) -> Verdict:
    """08, exercise 1: `student(correct)` with correct (attacks, images) bool -> % of images robust to all."""
    rng = np.random.default_rng(4)
    cases = [(rng.random((a, n)) < p,) for a, n, p in ((3, 50, 0.7), (1, 20, 0.5), (5, 200, 0.9))]
    return check_function(student, lambda c: 100.0 * np.asarray(c).all(axis=0).mean(), cases,
                          "an image counts as robust only if every attack left it correct: all over the attack axis.",
                          rtol=1e-9)


def check_double_softmax(answer: Any) -> Verdict:
    """08, exercise 2: cross-entropy (nats) applied to the *probabilities* of a model 99% sure of the right class
    among 10 (the other 1% spread evenly): the loss the authors' attack climbs."""
    p = np.array([0.99] + [0.01 / 9] * 9)
    expected = -np.log(np.exp(p[0]) / np.exp(p).sum())
    return check_value(answer, expected, "treat the probabilities as logits: softmax them again and take -log of "
                       "the true class's share.", rtol=1e-3, what="your loss")
