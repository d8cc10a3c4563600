"""Notebook 03's verdicts on ``targeted_attack`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...check import Tolerance, Verdict
from .context import TARGETED_EPS, TARGETED_IMAGES, Context
from .verdicts import (
    _attack_output,
    _budget_verdict,
    _change_figure,
    _input_problem,
    _range_verdict,
    _signed_match,
)


def _verify_targeted_reached(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The trusted model classifies every returned image as its target (four images that the reference turns with
    p(target) > 0.99; a target probability within 1e-3 of the top counts). Known correct: any order of the two
    clamps, projection by ``clamp(min=x-eps, max=x+eps)`` or ``torch.max``/``torch.min``, working with a delta,
    ``autograd.grad`` or ``.backward()`` on a fresh leaf each step, a sum or a mean of the loss. Known wrong, lose
    points: the flipped sign (away from the target: an untargeted step), too few steps."""
    x, targets = (a.numpy() for a in ctx.targeted_inputs())
    problem = _attack_output(student, "adversarial", x, "targeted_attack returned")
    if problem:
        return Verdict(False, problem)
    p = ctx.probabilities(student["adversarial"])
    if not np.isfinite(p).all():
        return Verdict(False, "the model's probabilities of your images are not finite.")
    missed = [i for i in range(len(x)) if p[i, targets[i]] < p[i].max() - tol.atol]
    if missed:
        i = missed[0]
        names = ctx.class_names
        return Verdict(False, f"{len(missed)} of {len(x)} images are not classified as their target; e.g. a "
                              f"{names[int(ctx.y[TARGETED_IMAGES[i]])]!r} with target {names[targets[i]]!r} is seen "
                              f"as {names[int(p[i].argmax())]!r} (p(target) = {p[i, targets[i]]:.3f}). Step "
                              "x - step_size * sign(gradient of the loss of the TARGET), then project.")
    return Verdict(True, f"all {len(x)} images are classified as their target.")


def _verify_targeted_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The first two steps from two images with pixels in [0.1, 0.9] (eps larger than both steps: neither the
    projection nor the clamp acts, so a missing one is judged only by its own check) match the reference pixel by
    pixel: the change of at least ``1 - tol.rtol`` of the pixels equals the reference's within 1e-5. Known
    correct: as for reaching the target. Known wrong, lose this point: the flipped sign, ``.grad`` accumulating
    across steps (one leaf updated in place without zeroing its ``.grad``), the gradient of the target logit or
    probability instead of the loss of the target, a random start."""
    x, _ = (a.numpy() for a in ctx.short_inputs())
    problem = _attack_output(student, "adversarial", x, "targeted_attack returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    match = _signed_match(s, r, x)
    figures = (_change_figure("two steps, image 0", s, r, x),)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"two steps move every pixel as the reference does ({100 * match:.2f}% identical).",
                       figures)
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = ("the image moved AWAY from the target: subtract step_size * sign(gradient of the loss of the "
                "target).")
    else:
        hint = ("each step is x - step_size * sign(gradient of cross_entropy(model(x), target)) at the CURRENT x, "
                "from a fresh gradient (nothing accumulated in .grad), starting at the image itself.")
    return Verdict(False, f"after two steps only {100 * match:.1f}% of the pixels match the reference: {hint}",
                   figures)


def _verify_targeted_budget(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Ten steps of 1/255 stay within eps = 8/255 of the image (+1e-6). Known correct: either order of the two
    clamps. Known wrong, lose this point: no projection into the eps-ball, projecting around the previous
    iterate instead of the original image."""
    x, _ = (a.numpy() for a in ctx.targeted_inputs())
    return _budget_verdict(student, "adversarial", x, TARGETED_EPS, "targeted_attack returned",
                           "after every step, clamp to [image - eps, image + eps] around the ORIGINAL image.")


def _verify_targeted_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel lies in [0, 1] (+-1e-6). Known wrong, lose this point: no clamp to [0, 1]."""
    x, _ = (a.numpy() for a in ctx.targeted_inputs())
    return _range_verdict(student, "adversarial", x, "targeted_attack returned",
                          "clamp to [0, 1] after every step.")


_BAD_INPUTS = {"negative_eps": "eps < 0", "pixels_below_0": "an image with a value below 0",
               "pixels_above_1": "an image with a value above 1",
               "target_out_of_range": "a target equal to the number of classes", "negative_target": "a target of -1"}
_VALID_EDGES = {"valid_zero_eps": "eps = 0 (a budget of nothing is allowed)",
                "valid_pixels_0_and_1": "an image with pixels exactly 0 and 1 (inside [0, 1])",
                "valid_target_0": "target class 0"}


def _verify_targeted_bad_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Raises ``ValueError`` (or a subclass) for eps < 0, for an image outside [0, 1] and for a target out of
    range. A behaviour check, not an output check: it may pass whatever the function returns for good input.
    Known wrong, lose this point: no validation (an ``IndexError`` from the loss is not a clear error), raising
    ``TypeError``/``AssertionError``, ``assert`` statements."""
    missing = [what for key, what in _BAD_INPUTS.items() if not bool(student.get(key, False))]
    if missing:
        return Verdict(False, f"no ValueError for {', '.join(missing)}: check eps, the pixel range and the targets "
                              "first, and `raise ValueError(...)` with a message that says what was expected.")
    refused = [what for key, what in _VALID_EDGES.items() if not bool(student.get(key, False))]
    if refused:
        return Verdict(False, f"it raised for valid input: {', '.join(refused)}; the rules are eps >= 0, pixels in "
                              "[0, 1] (both ends included) and targets in [0, num_classes).")
    return Verdict(True, "raises ValueError for a negative eps, pixels outside [0, 1] and a target out of range, "
                         "and accepts eps = 0, pixels of exactly 0 and 1 and target 0.")


def _verify_targeted_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    x, _ = ctx.targeted_inputs()
    problem = _input_problem(student, x.numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")

