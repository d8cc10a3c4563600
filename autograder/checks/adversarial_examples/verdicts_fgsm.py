"""Notebook 03's verdicts on ``fgsm`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...check import Tolerance, Verdict
from .context import FGSM_EPS, FGSM_IMAGES, MATCH, Context
from .verdicts import (
    _attack_output,
    _budget_verdict,
    _change_figure,
    _input_problem,
    _range_verdict,
    _signed_match,
)


def _verify_fgsm_direction(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel's change (the student's image clamped to [0, 1], so a missing clamp costs only the range check)
    equals the reference's within 1e-5 on at least ``1 - tol.rtol`` of the pixels (a gradient within rounding of 0
    may flip a sign). Known correct, full marks: ``autograd.grad`` or ``loss.backward()`` on a detached clone, a
    sum or a mean of the loss, ``torch.clamp`` or ``.clamp`` before returning. Known wrong, lose points: the flipped
    sign (toward the label), eps times the raw gradient instead of its sign, the gradient of a probability's sign
    only where it is positive."""
    x = ctx.X[FGSM_IMAGES].numpy()
    problem = _attack_output(student, "adversarial", x, "fgsm returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    figures = (_change_figure("FGSM, image 0", s, r, x),)
    match = _signed_match(s, r, x)
    if match >= 1 - tol.rtol and reference.get("digits") is not None:
        digits = ctx.digits.numpy()
        problem = _attack_output(student, "digits", digits, "fgsm returned (1-channel digits)")
        if problem:
            return Verdict(False, problem)
        digit_match = _signed_match(student["digits"], reference["digits"], digits)
        if digit_match < 1 - tol.rtol:
            return Verdict(False, f"right on the RGB photos but only {100 * digit_match:.1f}% of the pixels moved as "
                                  "in the reference on 1-channel digits with a linear classifier unsure between "
                                  "many classes: differentiate cross_entropy of the model's LOGITS (not of "
                                  "softmax probabilities) and the labels, for any number of channels.", figures)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"every pixel moved as in the reference ({100 * match:.2f}% identical).", figures)
    delta = np.clip(s.astype(np.float64), 0, 1) - x
    moved = np.abs(delta[(x > FGSM_EPS) & (x < 1 - FGSM_EPS)])
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = ("the image moved TOWARD its label (the loss went down): FGSM adds eps * sign(gradient of the loss of "
                "the true label), which increases the loss.")
    elif moved.size and (np.abs(moved - FGSM_EPS) > MATCH).mean() > 0.5 and (moved > 0).mean() > 0.5:
        hint = "pixels moved by other amounts than eps: step along the SIGN of the gradient, eps * grad.sign()."
    else:
        hint = "x_adv = clamp(image + eps * sign(gradient of cross_entropy(model(image), label)), 0, 1)."
    return Verdict(False, f"only {100 * match:.1f}% of the pixels moved as in the reference: {hint}", figures)


def _verify_fgsm_budget(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """No pixel changes by more than eps (+1e-6 for rounding). Known wrong, lose this point: a step larger than
    eps, eps times an unnormalized gradient that exceeds 1."""
    return _budget_verdict(student, "adversarial", ctx.X[FGSM_IMAGES].numpy(), FGSM_EPS, "fgsm returned",
                           "one step of eps * sign(gradient) changes each pixel by at most eps.")


def _verify_fgsm_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel of the result lies in [0, 1] (+-1e-6). Known correct: clamping with ``.clamp(0, 1)`` or
    ``torch.clamp``. Known wrong, lose this point: no clamp."""
    return _range_verdict(student, "adversarial", ctx.X[FGSM_IMAGES].numpy(), "fgsm returned",
                          "clamp the adversarial image to [0, 1].")


def _verify_fgsm_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    problem = _input_problem(student, ctx.X[FGSM_IMAGES].numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")

