"""Notebook 03's verdicts on ``fool_linear_classifier`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...check import Tolerance, Verdict
from .context import LINEAR_EPS, LINEAR_TARGET, Context
from .verdicts import (
    _attack_output,
    _change_figure,
    _input_problem,
    _range_verdict,
    _signed_match,
)


def _verify_linear_direction(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel's change (the student's image clamped to [0, 1]) equals the reference's within 1e-5. Known
    correct: ``torch.sign`` or ``Tensor.sign``, ``view``/``reshape``, indexing ``weights[label]`` or a loop over
    images. Known wrong, lose points: the flipped sign, ``sign(w_target)`` alone (ignores the current class),
    ``eps * (w_target - w_label)`` without the sign."""
    x = ctx.digits.numpy()
    problem = _attack_output(student, "adversarial", x, "fool_linear_classifier returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    match = _signed_match(s, r, x)
    figures = (_change_figure("digit 0", s, r, x),)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"every pixel moved as in the reference ({100 * match:.2f}% identical).", figures)
    w = ctx.weights.numpy().astype(np.float64)
    target_only = np.clip(x + LINEAR_EPS * np.sign(w[LINEAR_TARGET]).reshape(1, *x.shape[1:]), 0, 1)
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = "the image moved toward its own class: add eps * sign(w_target - w_label)."
    elif _signed_match(s, target_only, x) > 0.99:
        hint = ("you used sign(w_target) alone: the score DIFFERENCE s_target - s_label grows fastest along "
                "sign(w_target - w_label).")
    else:
        hint = "x_adv = clamp(image + eps * sign(w_target - w_label), 0, 1), with w_c = weights[c] reshaped."
    return Verdict(False, f"only {100 * match:.1f}% of the pixels moved as in the reference: {hint}", figures)


def _verify_linear_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel lies in [0, 1] (+-1e-6). Known wrong, lose this point: no clamp."""
    return _range_verdict(student, "adversarial", ctx.digits.numpy(), "fool_linear_classifier returned",
                          "clamp the result to [0, 1].")


def _verify_linear_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    problem = _input_problem(student, ctx.digits.numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged.")

