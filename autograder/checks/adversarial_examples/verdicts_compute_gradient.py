"""Notebook 03's verdicts on ``compute_gradient`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Tolerance, Verdict
from .._kit import output_problem
from .context import GRADIENT_TARGET, Context
from .verdicts import (
    _input_problem,
    _unchanged,
)


def _gradient_hint(s: np.ndarray, r: np.ndarray, ctx: Context) -> str:
    x = ctx.gradient_images().numpy()
    candidates = {
        "it is the gradient of the logit: differentiate the softmax PROBABILITY, "
        "model(image).softmax(dim=1)[:, intended_outcome].": ctx.gradients(x, GRADIENT_TARGET, "logit"),
        "it is the gradient of the log-probability (or of minus the cross-entropy): differentiate the probability "
        "itself, model(image).softmax(dim=1)[:, intended_outcome].":
            ctx.gradients(x, GRADIENT_TARGET, "log_probability"),
    }
    for hint, candidate in candidates.items():
        if np.isfinite(candidate).all() and norm_relative_error(s, candidate) < 0.02:
            return hint
    if norm_relative_error(-s, r) < 0.02:
        return "it has the wrong sign: return the gradient of the probability itself."
    if norm_relative_error(s * len(r), r) < 0.02:
        return ("it is the reference divided by the batch size: SUM the probabilities over the batch before "
                "differentiating, do not average them.")
    if not s.any():
        return "it is all zeros: differentiate the probability of intended_outcome with respect to the image."
    return "differentiate softmax(model(image))[:, intended_outcome], summed over the batch, with respect to image."


def _verify_gradient(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The gradient of a batch of two images matches the reference within ``tol.rtol`` relative L2 error.
    Known correct, full marks: ``torch.autograd.grad`` or ``.backward()`` on a copy, ``softmax`` or
    ``exp(log_softmax)``, a per-image loop. Known wrong, lose points: the gradient of the logit, of the
    log-probability or of the loss, the batch mean of the probabilities, the wrong sign."""
    r = reference["gradient"]
    problem = output_problem(student, "gradient", r.shape, "compute_gradient returned")
    if problem:
        return Verdict(False, problem)
    s = student["gradient"]
    if _unchanged(s, ctx.gradient_images().numpy()):
        return Verdict(False, "compute_gradient returned its input image, not a gradient.")
    err = norm_relative_error(s, r)
    if err <= tol.rtol:
        return Verdict(True, f"matches the reference gradient (relative difference {err:.1e}).")
    return Verdict(False, f"differs from the reference by {100 * min(err, 99.99):.1f}% (relative L2 difference): "
                          f"{_gradient_hint(s, r, ctx)}")


def _verify_gradient_fresh(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """A second call on the same tensor returns what the first returned (within ``tol.rtol``), and the first is a
    plausible gradient (usable, not the input, within 8 orders of magnitude of the reference's size), so that a
    wrong gradient is judged once, by the check above. Known correct: ``torch.autograd.grad``, ``.backward()`` on
    a fresh copy. Known wrong, lose this point: ``image.requires_grad_()`` then ``.backward()`` on the caller's
    tensor and returning ``image.grad`` (it grows with every call)."""
    r = reference["gradient"]
    for key, what in (("gradient", "compute_gradient returned"),
                      ("gradient_again", "compute_gradient returned (second call)")):
        problem = output_problem(student, key, r.shape, what)
        if problem:
            return Verdict(False, problem)
    first, second = student["gradient"].astype(np.float64), student["gradient_again"].astype(np.float64)
    size, ref_size = float(np.linalg.norm(first)), float(np.linalg.norm(r))
    if _unchanged(first, ctx.gradient_images().numpy()) or not ref_size * 1e-8 <= size <= ref_size * 1e8:
        return Verdict(False, "not checked until compute_gradient returns a gradient (see the check above).")
    err = norm_relative_error(second, first)
    if err <= tol.rtol:
        return Verdict(True, "a second call returns the same gradient.")
    ratio = float(np.linalg.norm(second)) / size
    hint = (" It doubled: the gradient accumulates in .grad across calls; differentiate a fresh copy "
            "(`image.detach().clone().requires_grad_(True)`) with torch.autograd.grad." if abs(ratio - 2) < 0.05
            else "")
    return Verdict(False, f"a second call on the same image returns a different gradient ({100 * min(err, 99.99):.1f}%"
                          f" apart).{hint}")


def _verify_gradient_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off. Known wrong, lose
    this point only: ``image.requires_grad_()`` on the caller's tensor."""
    problem = _input_problem(student, ctx.gradient_images().numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")

