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
