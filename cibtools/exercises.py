"""The exercises of notebooks 01-11, one job: checking a student's answer. Each gets a verdict and a hint,
never a traceback, and never the solution.

A checker compares the answer with a reference computed by `cibtools` (so the solution is never
printed) and returns a `Verdict`, which is truthy when the answer is right; common slips get their own
hint, and an answer still left as `...` (or a function whose body is still empty) is "not answered yet".
Hints point at the step, never at the result. The exercises' data (the scalar toy of 01, the SCMs and
candidate instruments of 02) live here too.

For autograding (nbgrader), each checker cell holds a hidden test `check_...(answer).require()`, which
raises `AssertionError` with the verdict's message unless the answer is right (see TEACHING.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from . import ib_theory, scm


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `ok`, and a message for the student (a hint when not ok)."""

    ok: bool
    message: str
    answered: bool = True

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("Correct: " if self.ok else "Not yet: " if self.answered else "Not answered yet: ") + self.message

    def _repr_markdown_(self) -> str:  # how Jupyter shows it
        head = "✅ **Correct.** " if self.ok else "❌ **Not yet.** " if self.answered else "✏️ **Not answered yet.** "
        return head + self.message

    def require(self) -> None:
        """Raise AssertionError with the message unless the answer is right (the autograder's test)."""
        if not self.ok:
            raise AssertionError(repr(self))


def _unanswered(message: str) -> Verdict:
    return Verdict(False, message, answered=False)


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
        return _unanswered(f"{what} is still empty: replace the `...` with your answer. Hint: {hint}")
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
            return _unanswered(f"the function is not written yet (it raises NotImplementedError). Hint: {hint}")
        except Exception as error:  # noqa: BLE001 - any error in student code becomes a hint
            return Verdict(False, f"your function raised {type(error).__name__}: {error} (test case {number}). "
                                  f"Hint: {hint}")
        if got is None or got is Ellipsis:
            return _unanswered(f"the function is not written yet: it returns nothing (None) on test case {number}, "
                               f"so the result is still empty. Hint: {hint}")
        verdict = check_value(got, reference(*args), hint, rtol=rtol, atol=atol,
                              what=f"the result on test case {number}")
        if not verdict:
            return verdict
    return Verdict(True, f"your function agrees with the reference on {number} test cases.")


def _first_number(value: Any) -> float | None:
    """The first entry of a number, array or tensor as a float; None when it is not numeric or empty."""
    got = _as_array(value)
    return None if got is None or got.size == 0 else float(got.reshape(-1)[0])


def _slip(got: Any, slips: Iterable[tuple[float, str]], otherwise: Callable[[], Verdict],
          rtol: float = 1e-2) -> Verdict:
    """A 'not yet' naming the first common slip whose value `got` matches (within `rtol`), else `otherwise()`."""
    value = _first_number(got)
    if value is not None and math.isfinite(value):
        for target, message in slips:
            if abs(value - target) <= rtol * abs(target) + 1e-9:
                return Verdict(False, message)
    return otherwise()


def _student_value(student: Callable, args: tuple) -> Any:
    """The student's function on one case, or None when it raises (check_function reports that)."""
    try:
        return student(*args)
    except Exception:  # noqa: BLE001 - any error in student code is reported by check_function
        return None


# --- 01: the information bottleneck (references from cibtools.ib_theory and cibtools.losses) ----------------
# Exercises 2 and 3 use this scalar toy: X ~ N(0, 1.5^2), Z = 2 X + N(0, 1).
SCALAR_TOY = {"a": 2.0, "sigma_x": 1.5, "sigma_e": 1.0}
_KL_CASES = [(0.0, 1.0), (1.0, 1.0), (0.5, 0.3), (-2.0, 2.5), (0.1, 0.05)]


def _scalar_toy() -> ib_theory.GaussianToy:
    return ib_theory.GaussianToy.one_dim(SCALAR_TOY["a"], SCALAR_TOY["sigma_x"], SCALAR_TOY["sigma_e"])


def _kl_1d(mu: float, sigma: float) -> float:
    import torch

    from .losses import kl_to_standard_normal

    return float(kl_to_standard_normal(torch.tensor([[float(mu)]], dtype=torch.float64),
                                       torch.tensor([[float(sigma)]], dtype=torch.float64))[0])


def check_kl_divergence(student: Callable) -> Verdict:
    """01, exercise 1: `student(mu, sigma)` -> KL[N(mu, sigma^2) || N(0, 1)] in nats (Eq. 23's KL).

    Tested on a few (mu, sigma) pairs against `cibtools.losses.kl_to_standard_normal`.
    """
    hint = ("write KL = E_{z~N(mu, sigma^2)}[log N(z; mu, sigma^2) - log N(z; 0, 1)]; the log(2 pi) terms "
            "cancel, and you need E[(z - mu)^2] and E[z^2] under N(mu, sigma^2). sigma is a standard "
            "deviation, not a variance; the answer is 0 for mu = 0, sigma = 1.")
    verdict = check_function(student, _kl_1d, _KL_CASES, hint)
    if verdict or not callable(student):
        return verdict
    for mu, sigma in _KL_CASES:
        got, want = _student_value(student, (mu, sigma)), _kl_1d(mu, sigma)
        if _first_number(got) is not None and abs(_first_number(got) - want) > 1e-3 * abs(want) + 1e-9:
            where = f"at (mu, sigma) = ({mu:g}, {sigma:g})"
            return _slip(got, [(2 * want, f"your result is twice the KL {where}: check the factor 1/2 in front "
                                          f"of everything. Hint: {hint}"),
                               (-want, "your result has the wrong sign (a KL divergence is never negative): "
                                       f"which density goes in the numerator? Hint: {hint}")], lambda: verdict)
    return verdict


def check_mutual_information(answer: Any) -> Verdict:
    """01, exercise 2: I(Z;X) in nats for the scalar toy `SCALAR_TOY` (a number)."""
    t, want = SCALAR_TOY, _scalar_toy().i_zx()
    hint = ("I(Z;X) = h(Z) - h(Z|X), and both are entropies of Gaussians, so you need two variances: that of Z "
            "once X is known, and that of Z itself (a sum of independent parts). Use the natural log (nats).")
    return _slip(answer, [
        (want / math.log(2.0), f"that is the right value in bits: the notebook works in nats (natural log). Hint: {hint}"),
        (2 * want, f"your answer is twice the mutual information: check the factor 1/2. Hint: {hint}"),
        (0.5 * math.log(t["a"] ** 2 * t["sigma_x"] ** 2 / t["sigma_e"] ** 2),
         f"you used the ratio of signal to noise variance; Var(Z) also contains the noise. Hint: {hint}"),
    ], lambda: check_value(answer, want, hint, what="your I(Z;X)"))


def check_prior_gap(answer: Any) -> Verdict:
    """01, exercise 3: for the scalar toy and VIB's prior r(z) = N(0, 1), the slack of Eq. 20,
    E_x KL[p(z|x) || r(z)] - I(Z;X), in nats (a number)."""
    toy = _scalar_toy()
    bound = ib_theory.rate_upper_bound(toy)
    hint = ("subtract Eq. 19 from Eq. 20: the log p(z|x) terms cancel and what remains is "
            "E_z[log p(z) - log r(z)], a KL divergence between two zero-mean Gaussians in z "
            "(Exercise 1 gives it once you know the variance of p(z)).")
    value = _first_number(answer)
    if value is not None and value < 0:
        return Verdict(False, f"the slack of an upper bound cannot be negative. Hint: {hint}")
    return _slip(answer, [(bound, f"that is the bound itself; the exercise asks for bound - I(Z;X). Hint: {hint}")],
                 lambda: check_value(answer, bound - toy.i_zx(), hint, what="your gap"))


# --- 02: confounding and instrumental variables (references from cibtools.scm) ------------------------------
BIAS_SCM = scm.LinearSCM(w_sx=2.0, w_sy=-1.0, w_xy=1.0, w_rx=1.5, sigma_s=1.0, sigma_r=1.0, sigma_ux=0.5)
_IV_HINT = ("Eq. 7 compares how much y moves with how much x moves when only the instrument r moves. "
            "With data, 'moves with r' is a covariance with r.")
_CANDIDATES = {  # name -> (SCM with that candidate as R, why it is not valid, or None)
    "A": (scm.LinearSCM(w_sr=0.8), "candidate A moves together with the style s (look at corr(r, s)): it breaks "
                                    "condition 1 of Sec. 3.2, independence of the confounder."),
    "B": (scm.LinearSCM(w_ry=0.7), "candidate B also reaches y directly, not only through x (look at "
                                    "corr(r, y - w_xy x)): it breaks condition 2, exclusion."),
    "C": (scm.LinearSCM(), None),
    "D": (scm.LinearSCM(w_rx=0.02), "candidate D hardly moves x (look at corr(r, x) and the first-stage F): "
                                     "a weak instrument makes the Wald ratio divide by almost zero."),
}


def check_iv_estimator(student: Callable) -> Verdict:
    """02, exercise 1: `student(r, x, y)` must return the IV estimate of w_xy for 1-D arrays r, x, y.
    Checked on five data sets from different SCMs against `scm.iv_wald`."""
    models = [scm.LinearSCM(), scm.LinearSCM(w_sx=2, w_sy=-1, w_xy=1.5), scm.LinearSCM(w_xy=-0.7, w_rx=0.6, sigma_r=2),
              scm.LinearSCM(w_sx=0.3, w_sy=2, w_xy=0.0, sigma_uy=3), scm.LinearSCM(w_sx=-1, w_sy=1, w_xy=2, sigma_ux=0.2)]
    cases = [tuple(m.sample(500, seed=11 + i)[1:]) for i, m in enumerate(models)]
    verdict = check_function(student, scm.iv_wald, cases, _IV_HINT, rtol=1e-3)
    if verdict or not callable(student):
        return verdict
    r, x, y = cases[1]
    return _slip(_student_value(student, cases[1]), [
        (float(scm.ols_slope(x, y)), "your function returns the OLS slope of y on x, which the confounder s "
                                     "biases. Hint: use the instrument r, which s does not touch."),
        (1 / float(scm.iv_wald(r, x, y)), "your ratio is upside down. Hint: " + _IV_HINT),
    ], lambda: verdict, rtol=1e-3)


def check_ols_bias(answer: Any, model: scm.LinearSCM = BIAS_SCM) -> Verdict:
    """02, exercise 2: the large-sample OLS bias cov(x_r, y_r) / var(x_r) - w_xy for `model`, with the
    instrument in x. Accepted within 2 %; common slips (the slope instead of the bias, a forgotten
    variance term, a wrong sign) get their own hint."""
    hint = ("the bias is the covariance that the back-door path X <- S -> Y adds, divided by the variance "
            "of x; write var(x_r) from x_r = w_sx s + w_rx r + u_x with independent s, r, u_x.")
    truth = scm.ols_bias_formula(model, True)
    verdict = check_value(answer, truth, hint, rtol=0.02, what="your predicted bias")
    if verdict:
        return verdict
    return _slip(answer, [
        (model.w_xy + truth, "that is the OLS slope itself; the bias is the slope minus the true w_xy."),
        (-truth, "the size is right but the sign is not: look at the signs of w_sx and w_sy."),
        (scm.ols_bias_formula(model, False), "you used the variance of x without the instrument: here x is x_r, "
                                             "and the instrument adds w_rx^2 sigma_r^2 to its variance."),
    ], lambda: verdict, rtol=0.02)


def instrument_candidates(n: int = 5000, seed: int = 3) -> dict[str, scm.Sample]:
    """02, exercise 3: four candidate instruments, each a simulated data set (s, r, x, y) with w_xy = 0.5."""
    return {name: m.sample(n, seed + i) for i, (name, (m, _)) in enumerate(_CANDIDATES.items())}


def check_instrument_choice(answer: Any) -> Verdict:
    """02, exercise 3: which candidate of `instrument_candidates` is a valid instrument? Its letter."""
    hint = "a valid instrument moves x, is independent of s, and reaches y only through x (try scm.instrument_checks)."
    if answer is None or answer is Ellipsis:
        return _unanswered(f"your answer is still empty: replace the `...` with a letter. Hint: {hint}")
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


# --- 03: adversarial examples (references from cibtools.attacks; never printed) ----------------------------
def _targeted_cases():
    import torch
    from torch import nn

    cases = []
    for seed, eps in ((0, 0.1), (1, 0.3), (2, 8 / 255)):
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 4)).eval()
        x = torch.rand(8, 1, 4, 4, generator=g)
        cases.append((model, x, torch.randint(0, 4, (8,), generator=g), eps))
    return cases


def _targeted_fgsm(model, x, target, eps, direction: float = -1.0, clip: bool = True):
    from .attacks import input_gradient

    step = x + direction * eps * input_gradient(model, x, target).sign()
    return (step.clamp(0.0, 1.0) if clip else step).detach()


def check_targeted_fgsm(student: Callable) -> Verdict:
    """03, exercise 1: `student(model, x, target, eps)` -> one signed step of size eps that makes the `target`
    class more likely (down the cross-entropy of the target label), clipped to [0, 1]."""
    hint = ("FGSM climbs the loss of the true label, away from it; a targeted step goes the other way on the loss "
            "of the target label, towards it. The step has size eps in every pixel, and the result must be an image.")
    cases = _targeted_cases()
    verdict = check_function(student, _targeted_fgsm, cases, hint, rtol=1e-5, atol=1e-6)
    if verdict or not callable(student):
        return verdict
    for args in cases:
        got = _as_array(_student_value(student, args))
        if got is None or got.size != args[1].numel():
            continue
        for slip, message in (
                (_targeted_fgsm(*args, direction=1.0), "your step climbs the target's loss, which makes the target "
                                                       "*less* likely."),
                (_targeted_fgsm(*args, clip=False), "some pixels leave [0, 1]: the result is no longer an image."),
                (args[1], "the images did not move.")):
            if np.allclose(got.reshape(slip.shape), slip.numpy(), rtol=1e-5, atol=1e-6):
                return Verdict(False, f"{message} Hint: {hint}")
    return verdict


def check_forward_passes(answer: Any) -> Verdict:
    """03, exercise 2: forward (and backward) passes of the MLP, on copies of one image, that PGD-20 with EOT-4
    costs against RS's prediction (the softmax averaged over 16 noisy copies); the random start costs none."""
    steps, eot, copies = 20, 4, 16
    hint = ("every step takes one EOT gradient; every EOT gradient averages several random passes of the "
            "prediction; and every pass of RS's prediction runs the network on several noisy copies.")
    return _slip(answer, [(steps * eot, f"that counts the passes of the prediction, but each one runs the network "
                                        f"on several noisy copies. Hint: {hint}"),
                          (steps * copies, f"that leaves out the EOT average. Hint: {hint}"),
                          (eot * copies, f"that is one step of the attack. Hint: {hint}")],
                 lambda: check_value(answer, steps * eot * copies, hint, rtol=0, atol=0.5, what="your count"))


# --- 04-09 (references computed here or by cibtools; never printed) ----------------------------------------
def check_training_steps(answer: Any) -> Verdict:
    """04, exercise 1: optimiser steps of one paper-settings model (60k images, batch 100, 50 epochs)."""
    return check_value(answer, 60000 // 100 * 50, "Adam takes one step per batch, and every epoch sees every "
                       "training image once.", rtol=0, atol=0.5, what="your number of steps")


def check_vib_loss(student: Callable) -> Verdict:
    """04, exercise 2: `student(logits (S, B, C), y (B,), mu (B, K), sigma (B, K), alpha)` -> VIB loss."""
    import torch

    from .losses import vib_loss

    g = torch.Generator().manual_seed(0)
    cases = []
    for s, b, k, alpha in ((1, 4, 3, 0.01), (12, 5, 8, 0.5), (3, 2, 2, 0.0)):
        cases.append((torch.randn(s, b, 10, generator=g), torch.randint(0, 10, (b,), generator=g),
                      torch.randn(b, k, generator=g), torch.rand(b, k, generator=g) + 0.1, alpha))
    return check_function(student, lambda *a: vib_loss(*a)[0], cases,
                          "every one of the S x B predictions is scored against its image's label; the KL is the one "
                          "of 01's exercise 1, summed over the K code dimensions, then averaged over the batch.")


def check_standard_error(student: Callable) -> Verdict:
    """05, exercise 1: `student(accuracy_percent, n)` -> standard error of an accuracy, in points."""
    return check_function(student, lambda p, n: 100 * np.sqrt(p / 100 * (1 - p / 100) / n),
                          [(50.0, 1000), (97.2, 5000), (0.5, 10000), (100.0, 200)],
                          "an accuracy is the mean of n Bernoulli trials: what is the variance of one trial, and "
                          "of a mean of n independent ones? p arrives in %, and the answer is in percentage points.")


def check_significant_gap(answer: Any) -> Verdict:
    """05, exercise 2: the smallest gap (points) that is 2 standard errors of a difference of two
    accuracies of about 50% on 5000 images each."""
    se = 100 * np.sqrt(2 * 0.25 / 5000)
    return check_value(answer, 2 * se, "the variance of a difference of two independent estimates is the sum "
                       "of their variances.", rtol=0.05, what="your gap")


def check_pair_count(answer: Any) -> Verdict:
    """06, exercise 1: ordered pairs i != j among the 12 draws of Eq. 10."""
    return check_value(answer, 12 * 11, "Eq. 10 sums over i != j: ordered pairs, so (i, j) and (j, i) both count.",
                       rtol=0, atol=0.5, what="your count")


def check_pairwise_l2(student: Callable) -> Verdict:
    """06, exercise 2: `student(w)` with w (n, B, D) -> sum over i != j of ||w_i - w_j||_2, batch mean."""
    import torch

    from .losses import pairwise_spread

    g = torch.Generator().manual_seed(1)
    cases = [(torch.randn(n, b, d, generator=g),) for n, b, d in ((2, 3, 4), (5, 1, 10), (12, 4, 10))]
    return check_function(student, lambda w: pairwise_spread(w, "l2", "sum"), cases,
                          "one broadcast can give all n x n differences at once (the i = j terms are zero, so "
                          "they need no mask); the norm runs over the classes, the mean over the batch.", rtol=1e-3)


def check_projection(student: Callable) -> Verdict:
    """07, exercise 1: `student(x_adv, x, eps)` -> x_adv projected onto the L-inf ball around x and [0, 1]."""
    import torch

    from .attacks import _project

    g = torch.Generator().manual_seed(2)
    cases = []
    for eps in (0.1, 0.3, 1.0):
        x = torch.rand(4, 1, 5, 5, generator=g)
        cases.append((x + 0.8 * torch.randn(4, 1, 5, 5, generator=g), x, eps))
    return check_function(student, lambda a, x, e: _project(a, x, e, "linf"), cases,
                          "two constraints hold pixel by pixel: within eps of x, and inside [0, 1]. Projecting onto "
                          "a box is clipping; which of the two must come last for the result to be an image?")


def check_grey_budget(answer: Any) -> Verdict:
    """07, exercise 2: the smallest eps (in /255) whose ball around every image in [0, 1] holds the grey 0.5."""
    return check_value(answer, 127.5, "in the L-inf ball each pixel moves on its own: which pixel values of an "
                       "image are furthest from grey?",
                       rtol=0, atol=0.51, what="your eps (in /255)")


def check_median_eps(student: Callable) -> Verdict:
    """08, exercise 1: `student(eps_255)` -> median minimal eps in /255 over the images an attack flips,
    where images never flipped are marked `inf` and count as larger than any budget."""
    arrays = [np.array([3.0, 9.0, np.inf, 12.0, 5.0]), np.array([np.inf, 1.0, 2.0]), np.array([7.0, 2.0, 4.0, 8.0])]
    return check_function(student, lambda e: float(np.median(np.sort(e))), [(a,) for a in arrays],
                          "a never-flipped image still counts as one image, with a budget above all others; what "
                          "should the median be when half or more were never flipped?",
                          rtol=1e-6)


def check_sign_test(student: Callable) -> Verdict:
    """08, exercise 2: `student(wins, losses)` -> two-sided exact sign test p-value."""
    from .minimal_eps import sign_test

    return check_function(student, sign_test, [(10, 2), (50, 50), (0, 7), (30, 12)],
                          "under the null each non-tied pair is a fair coin flip: the p-value is the chance of a "
                          "split at least as uneven as the one seen, in either direction; it is never above 1.",
                          rtol=1e-6)


def check_pooled_accuracy(student: Callable) -> Verdict:
    """09, exercise 1: `student(correct)` with correct (attacks, images) bool -> % of images robust to all."""
    rng = np.random.default_rng(4)
    cases = [(rng.random((a, n)) < p,) for a, n, p in ((3, 50, 0.7), (1, 20, 0.5), (5, 200, 0.9))]
    return check_function(student, lambda c: 100.0 * np.asarray(c).all(axis=0).mean(), cases,
                          "an image counts as robust only if every attack left it correct: reduce over the attacks "
                          "first, then take the share of images, in %.",
                          rtol=1e-9)


def check_double_softmax(answer: Any) -> Verdict:
    """09, exercise 2: cross-entropy (nats) applied to the *probabilities* of a model 99% sure of the right class
    among 10 (the other 1% spread evenly): the loss the authors' attack climbs."""
    p = np.array([0.99] + [0.01 / 9] * 9)
    expected = -np.log(np.exp(p[0]) / np.exp(p).sum())
    return check_value(answer, expected, "nn.CrossEntropyLoss applies a softmax to whatever it is given, here to "
                       "numbers between 0 and 1.", rtol=1e-3, what="your loss")


# --- 10: CIFAR-10 (answers that do not depend on the trained models) ---------------------------------------
def check_rand_autoattack_cost(answer: Any) -> Verdict:
    """10, exercise 1: at most how many input gradients AutoAttack's `rand` version computes per image
    (APGD-CE then APGD-DLR, 100 iterations each, every gradient an average over 20 EOT passes, 1 restart)."""
    hint = ("each iteration of one attack averages the gradient over the EOT passes; the second attack only runs on "
            "the images the first did not flip, so the most is when none was flipped.")
    return _slip(answer, [(100 * 20, f"that is one attack; the rand version runs two. Hint: {hint}"),
                          (2 * 100, f"every iteration costs 20 passes, not one. Hint: {hint}")],
                 lambda: check_value(answer, 2 * 100 * 20, hint, rtol=0, atol=0.5, what="your count"))


def _transfer_cases():
    import torch
    from torch import nn

    cases = []
    for seed, eps in ((0, 0.1), (1, 0.3), (2, 0.05)):
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 4))
        surrogate = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
        x = torch.rand(64, 1, 4, 4, generator=g)
        with torch.no_grad():  # labels the model gets right on clean images, so the attack has work to do
            y = model(x).argmax(1)
        cases.append((model.eval(), surrogate.eval(), x, y, eps))
    return cases


def _transfer_reference(model, surrogate, x, y, eps) -> float:
    import torch

    from .attacks import fgsm

    x_adv = fgsm(surrogate, x, y, eps)
    with torch.no_grad():
        return 100.0 * float((model(x_adv).argmax(1) == y).float().mean())


def check_transfer_accuracy(student: Callable) -> Verdict:
    """10, exercise 2: `student(model, surrogate, x, y, eps)` -> accuracy in % of `model` on FGSM examples
    crafted on `surrogate` (black-box transfer), with `cibtools.attacks.fgsm`."""
    hint = ("the examples come from the surrogate's gradient (attacks.fgsm takes the model to differentiate), and "
            "the accuracy is the attacked model's, on those examples, in %.")
    verdict = check_function(student, _transfer_reference, _transfer_cases(), hint, rtol=1e-6, atol=1e-6)
    if verdict or not callable(student):
        return verdict
    model, surrogate, x, y, eps = _transfer_cases()[1]
    import torch

    from .attacks import fgsm

    own, theirs = fgsm(model, x, y, eps), fgsm(surrogate, x, y, eps)
    with torch.no_grad():
        white = 100.0 * float((model(own).argmax(1) == y).float().mean())
        wrong_scorer = 100.0 * float((surrogate(theirs).argmax(1) == y).float().mean())
    return _slip(_student_value(student, (model, surrogate, x, y, eps)), [
        (white, "that is the white-box accuracy: the examples were crafted on the attacked model itself."),
        (wrong_scorer, "you scored the surrogate on its own examples; the accuracy asked for is the attacked model's."),
    ], lambda: verdict, rtol=1e-6)


# --- 11: why the numbers differ (answers computed from the committed rows, `paper_settings.read_rows()`) ----
def check_welch_changes(answer: Any, rows) -> Verdict:
    """11, exercise 1: how many cells of `verdict.paper_settings_table(rows, ...)` change their verdict
    (p < 0.05) when the paper's runs are taken as 10 instead of 3."""
    from . import verdict

    def significant(runs):
        return verdict.paper_settings_table(rows, runs)["p"].lt(0.05)

    changed = int((significant(3) != significant(10)).sum())
    hint = ("build the table twice, with paper_runs = 3 and with 10, and compare the two columns of verdicts "
            "(p < 0.05) cell by cell; a NaN p is never significant.")
    return _slip(answer, [(int(significant(10).sum()), f"that counts the significant cells at 10 runs, not the "
                                                        f"ones that changed. Hint: {hint}")],
                 lambda: check_value(answer, changed, hint, rtol=0, atol=0.5, what="your count"))


def _best_combination_gain(rows) -> dict[str, float]:
    from . import verdict

    factors = verdict.factor_table(rows).dropna(subset=["FGSM", "PGD"])  # protocols with both attacks
    best = factors.loc[factors["PGD"].idxmax()]
    keys = ["method", "model", "inputs", "optimiser", "epochs"]
    same = factors[(factors[keys] == best[keys]).all(axis=1) & (factors["protocol"] == "sound")].iloc[0]
    return {"FGSM": float(best["FGSM"] - same["FGSM"]), "PGD": float(best["PGD"] - same["PGD"])}


def check_protocol_advantage(answer: Any, rows) -> Verdict:
    """11, exercise 2: for the combination with the highest PGD accuracy in `verdict.factor_table(rows)`, is its
    advantage over the sound protocol on the same model larger under "FGSM" or under "PGD"?"""
    hint = ("find the row with the highest PGD, then the row with the same method, model, inputs, optimiser and epochs "
            "under the sound protocol, and compare the two differences (they may have different signs).")
    if answer is None or answer is Ellipsis:
        return _unanswered(f"your answer is still empty: replace the `...` with \"FGSM\" or \"PGD\". Hint: {hint}")
    name = str(answer).strip().upper().replace("-20", "")
    if name not in ("FGSM", "PGD"):
        return Verdict(False, f"answer with \"FGSM\" or \"PGD\", not {answer!r}.")
    gain = _best_combination_gain(rows)
    right = max(gain, key=gain.get)
    if name == right:
        return Verdict(True, f"under {right} the protocol adds more ({gain[right]:+.2f} points against "
                             f"{gain['FGSM' if right == 'PGD' else 'PGD']:+.2f}).")
    return Verdict(False, f"compare the two differences again. Hint: {hint}")


def check_costliest_part(answer: Any, rows) -> Verdict:
    """11, exercise 3: which single change to the authors' bottleneck (a `variant` of
    `verdict.bottleneck_ablation(rows)`, not "authors" or "ours") costs the most PGD-20 accuracy at 50/255."""
    from . import verdict

    table = verdict.bottleneck_ablation(rows)
    single = table[~table["variant"].isin(["authors", "ours"])]
    hint = ("the column `d PGD-20 50` is each variant's change against the full authors' model; only the rows that "
            "change one part count.")
    if answer is None or answer is Ellipsis:
        return _unanswered(f"your answer is still empty: replace the `...` with a variant's name. Hint: {hint}")
    name = str(answer).strip()
    if name in ("authors", "ours"):
        return Verdict(False, f"{name!r} changes no part or every part at once; pick one of the single changes. "
                              f"Hint: {hint}")
    if name not in set(single["variant"]):
        return Verdict(False, f"answer with one of the variants {', '.join(single['variant'])}, not {answer!r}.")
    worst = single.loc[single["d PGD-20 50"].idxmin(), "variant"]
    if name == worst:
        return Verdict(True, f"{name} costs the most PGD-20 accuracy of the single changes.")
    return Verdict(False, f"{name} costs less than another single change. Hint: {hint}")
