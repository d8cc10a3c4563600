"""Notebook 03's verdicts on ``trick`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Tolerance, Verdict
from .._kit import output_problem
from .context import TRICK_STEP_SIZE, TRICK_STEPS, Context
from .verdicts import (
    _attack_output,
    _change_figure,
    _input_problem,
    _range_verdict,
)


def _verify_trick_image(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Three steps of ``step_size * g / max|g|`` (per image) from two images whose pixels lie in [0.1, 0.9] (the
    clamp never acts) move the image as the reference does, within ``tol.rtol`` relative L2 error of the
    displacement. Known correct, full marks: calling ``compute_gradient`` or differentiating inline, ``amax`` over
    (1, 2, 3) or a loop over images, recording the probabilities in any way. Known wrong, lose points: the sign of
    the gradient instead of the normalized gradient, one maximum for the whole batch, gradient descent, no
    re-computation of the gradient after a step, a wrong ``compute_gradient`` (judged there as well)."""
    x = ctx.trick_images().numpy()
    problem = _attack_output(student, "image", x, "trick returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["image"], reference["image"]
    move_s, move_r = s.astype(np.float64) - x, r.astype(np.float64) - x
    figures = (_change_figure("trick, image 0", s, r, x),)
    err = norm_relative_error(move_s, move_r)
    if err <= tol.rtol:
        return Verdict(True, f"the image moved as the reference did (difference {err:.1e}).", figures)
    if norm_relative_error(-move_s, move_r) < 0.1:
        hint = "it moved the opposite way: ADD step_size * g / max|g| to raise the probability."
    elif np.allclose(np.abs(move_s[move_s != 0]), TRICK_STEP_SIZE * np.round(np.abs(move_s[move_s != 0]) /
                                                                                 TRICK_STEP_SIZE), atol=1e-6):
        hint = "every pixel moved by a multiple of step_size: use g / max|g|, not the sign of g."
    else:
        hint = ("take n_steps steps image <- clamp(image + step_size * g / max|g|, 0, 1), with g from "
                "compute_gradient at the current image and max|g| over each image's own gradient.")
    return Verdict(False, f"the image moved differently from the reference ({100 * min(err, 99.99):.1f}% relative "
                          f"difference): {hint}", figures)


def _verify_trick_probabilities(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The probabilities have shape ``(n_steps + 1, N, K)``; their first row equals the trusted probabilities of
    the start images and their last row those of the returned image, for the requested classes in their order
    (within ``tol.atol``); every entry lies in [0, 1]. Judged against the student's own returned image, so a wrong
    step is not blamed twice. Known correct: recording inside the loop or after it, ``softmax`` or
    ``exp(log_softmax)``. Known wrong, lose this point: missing row 0 (the start), the probabilities of the image
    before the last step, logits instead of probabilities, all classes instead of the requested ones."""
    x = ctx.trick_images().numpy()
    classes = ctx.trick_classes()
    shape = (TRICK_STEPS + 1, len(x), len(classes))
    problem = output_problem(student, "probabilities", shape, "trick returned probabilities")
    if problem:
        if student.get("probabilities") is not None and tuple(student["probabilities"].shape)[:1] == (TRICK_STEPS,):
            problem += " Record the probabilities before the first step as well (row 0)."
        return Verdict(False, problem)
    image_problem = output_problem(student, "image", x.shape, "trick returned image")
    if image_problem:
        return Verdict(False, f"not checked until trick returns a usable image: {image_problem}")
    p = student["probabilities"].astype(np.float64)
    start, end = ctx.probabilities(x)[:, classes], ctx.probabilities(student["image"])[:, classes]
    if not (np.isfinite(start).all() and np.isfinite(end).all()):
        return Verdict(False, "the model's probabilities of your returned image are not finite.")
    if p.min() < -tol.atol or p.max() > 1 + tol.atol:
        return Verdict(False, "the recorded values are not probabilities (outside [0, 1]): apply softmax to the "
                              "logits and keep the requested classes.")
    if np.abs(p[0] - start).max() > tol.atol:
        return Verdict(False, "row 0 is not the probabilities of the start image for the requested classes (in their "
                              "order): record them before the first step.")
    if np.abs(p[-1] - end).max() > tol.atol:
        return Verdict(False, "the last row is not the probabilities of the image you return: record them after "
                              "every step, including the last.")
    return Verdict(True, "the recorded probabilities start at the start image and end at the returned image.")


def _verify_trick_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """One step from a black image (where half of the gradient points below 0) keeps every pixel in [0, 1].
    Known correct: ``.clamp(0, 1)``, ``torch.clamp``, ``clamp_`` on a new tensor. Known wrong, lose this point:
    no clamp."""
    return _range_verdict(student, "image", ctx.edge_image().numpy(), "trick returned",
                          "clamp the image to [0, 1] after every step.")


def _verify_trick_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image is unchanged. Known wrong, lose this point only: ``image += ...`` on
    the caller's tensor."""
    problem = _input_problem(student, ctx.trick_images().numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged.")

