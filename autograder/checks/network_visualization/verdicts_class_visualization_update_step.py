"""Notebook 02's verdicts on ``class_visualization_update_step`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import cosine, norm_relative_error
from ...check import Tolerance, Verdict
from .._kit import output_problem
from .context import STEP_LEARNING_RATE, Context
from .verdicts import _finite, _heatmap


def _step_hint(step_s: np.ndarray, expected: np.ndarray, before: np.ndarray, ctx: Context) -> str:
    """What a wrong step ``step_s`` looks like, given the correct one ``expected`` taken at ``before``."""
    l2_part = 2 * ctx.step_l2_reg * STEP_LEARNING_RATE * before.astype(np.float64)   # what the penalty subtracts
    if not step_s.any():
        return "img did not change: update it in place (`img += ...` inside `torch.no_grad()`); a returned tensor " \
               "is ignored."
    if norm_relative_error(step_s, expected + l2_part) < 0.01:
        return "the L2 penalty is missing: the objective is s_y(img) - l2_reg * ||img||_2^2."
    if norm_relative_error(step_s, expected + 2 * l2_part) < 0.01:
        return "the L2 penalty has the wrong sign: the objective is s_y(img) - l2_reg * ||img||_2^2."
    c = cosine(step_s, expected)
    ratio = float(np.linalg.norm(step_s) / np.linalg.norm(expected))
    if ratio > 100:
        return f"your step is {ratio:.1e} times as long as the correct one: img's values are far too large."
    if c < -0.99:
        return "your step goes downhill: gradient ASCENT adds learning_rate * gradient."
    if c > 0.99:
        return (f"it points the right way but has {ratio:.3g} times the length: use the raw (unnormalized) "
                "gradient times learning_rate.")
    return ("take one step img += learning_rate * (gradient of s_y(img) - l2_reg * ||img||_2^2), with the raw "
            "(unnormalized) gradient.")


def _step_problems(student, reference) -> str | None:
    shape = reference["after_one"].shape
    return (output_problem(student, "after_one", shape, "img after one call")
            or output_problem(student, "after_two", shape, "img after two calls"))


def _verify_step_one(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The first call's step equals the reference step within ``tol.rtol`` relative L2 error. Known correct, full
    marks: ``torch.autograd.grad``, or ``.backward()`` then ``img.data += learning_rate * img.grad`` (or ``+=``
    under ``no_grad``), ``img.norm() ** 2`` or ``(img ** 2).sum()``. Known wrong, lose points: a missing or flipped
    L2 term, descent, a normalized gradient, no update in place. Picture: the step's size (max over channels), the
    reference's as a coarse view: without signs and channels it cannot be turned back into the step."""
    start = ctx.step_start().numpy()
    problem = output_problem(student, "after_one", reference["after_one"].shape, "img after one call")
    if problem:
        return Verdict(False, problem)
    step_s, step_r = student["after_one"].astype(np.float64) - start, reference["after_one"].astype(np.float64) - start
    figures = (_heatmap("first step |Δimg| (max over channels)", np.abs(step_s)[0].max(0),
                            np.abs(step_r)[0].max(0)),)
    err = norm_relative_error(step_s, step_r)
    if err <= tol.rtol:
        return Verdict(True, f"the first step matches the reference (difference {err:.1e}).", figures)
    return Verdict(False, f"the first step differs from the reference by {100 * min(err, 99.99):.1f}%: "
                          f"{_step_hint(step_s, step_r, start, ctx)}", figures)


def _verify_step_two(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The second call takes a fresh step: ``img after two calls - img after one call`` equals the correct step at
    the student's own ``img after one call`` (trusted gradient) within ``tol.rtol``. Known correct, full marks:
    ``torch.autograd.grad``, ``.backward()`` with ``img.grad.zero_()`` (or ``img.grad = None``) after the
    step. Known wrong, lose points: never clearing ``img.grad`` (also ``img.grad.zero_`` without parentheses), and
    any rule that is wrong on the first call too (then the message says the second step is wrong as well).
    Picture: as ``update_step_one``'s, for the second step."""
    problem = _step_problems(student, reference)
    if problem:
        return Verdict(False, problem)
    one, two = student["after_one"].astype(np.float64), student["after_two"].astype(np.float64)
    expected = ctx.class_step(one.astype(np.float32))
    if not _finite(expected):
        return Verdict(False, "the model's gradient at your img after one call is not finite (NaN or inf): its "
                              "values are far too large.")
    step_s = two - one
    figures = (_heatmap("second step |Δimg| (max over channels)", np.abs(step_s)[0].max(0),
                            np.abs(expected)[0].max(0)),)
    err = norm_relative_error(step_s, expected)
    if err <= tol.rtol:
        return Verdict(True, f"the second call takes a fresh step from where img was (difference {err:.1e}).",
                       figures)
    first_right = _verify_step_one(student, reference, ctx, CHECK_TOLERANCES["update_step_one"]).passed
    first_step = one - ctx.step_start().numpy()
    if first_right and norm_relative_error(step_s, expected + first_step) < 0.01:
        hint = ("the first step is right but the second adds the first one's gradient again: img.grad accumulates "
                "between calls (use torch.autograd.grad, or `img.grad.zero_()` with the parentheses after the step).")
    elif first_right:
        hint = f"the first step is right but the second is not: {_step_hint(step_s, expected, one, ctx)}"
    else:
        hint = f"the second step is wrong as well (see update_step_one): {_step_hint(step_s, expected, one, ctx)}"
    return Verdict(False, f"the second step differs from the correct step at your img by "
                          f"{100 * min(err, 99.99):.1f}%: {hint}", figures)


CHECK_TOLERANCES = {"update_step_one": Tolerance(rtol=1e-2)}
