"""Notebook 04's verdicts on ``IntegratedGradients`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Figure, Tolerance, Verdict
from .context import IG_BATCH, IG_BATCH_STEPS, IG_COMPLETE_IMAGE, IG_COMPLETE_STEPS, IG_IMAGE, IG_SMALL_STEPS, Context
from .verdicts import _usable


def _verify_ig(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    r = reference["attributions"]
    problem = _usable(student, "attributions", r.shape, "generate_integrated_gradients returned")
    if problem:
        return Verdict(False, problem)
    s = student["attributions"]
    figures = (Figure("attributions, summed over RGB", s.sum(0), r.sum(0), "heatmap"),)
    err = norm_relative_error(s, r)
    if err <= tol.rtol:
        for key, what in (("batched", f"with {IG_BATCH_STEPS} steps in batches of {IG_BATCH}"),
                          ("small", f"on a small smooth classifier ({IG_SMALL_STEPS} steps in batches of 2)")):
            if reference.get(key) is None:
                continue
            problem = _usable(student, key, reference[key].shape, f"generate_integrated_gradients returned {what}")
            if problem:
                return Verdict(False, problem)
            other = norm_relative_error(student[key], reference[key])
            if other > tol.rtol:
                return Verdict(False, f"right with the default batch_size but {100 * min(other, 99.99):.1f}% off "
                                      f"{what}: use alpha = k / steps for k = 1 .. steps exactly once each, in chunks "
                                      "of batch_size (the last chunk holds what is left).", figures)
        return Verdict(True, f"matches the reference (relative difference {err:.1e}).", figures)
    x = ctx.X[IG_IMAGE].numpy().astype(np.float64)
    hint = ("multiply the mean path gradient by (input_image - baseline)." if
            norm_relative_error(s * x, r) < 0.5 else
            "use alpha = k / steps for k = 1 .. steps (the path ends at the image), the gradient of the target "
            "class's logit, and multiply the mean gradient by (input_image - baseline), baseline = zeros.")
    return Verdict(False, f"differs from the reference by {100 * min(err, 99.99):.1f}%: {hint}", figures)


def _verify_completeness(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem = _usable(student, "attributions", reference["attributions"].shape,
                      "generate_integrated_gradients returned")
    if problem:
        return Verdict(False, problem)
    x = ctx.X[IG_COMPLETE_IMAGE:IG_COMPLETE_IMAGE + 1].numpy()
    target = int(ctx.y[IG_COMPLETE_IMAGE])
    delta = float(ctx.logit(x, target)[0] - ctx.logit(np.zeros_like(x), target)[0])
    total = float(student["attributions"].astype(np.float64).sum())
    if not np.isfinite(delta) or not np.isfinite(total):
        return Verdict(False, "the sum of your attributions is not finite.")
    if abs(total - delta) <= tol.rtol * abs(delta) + tol.atol:
        return Verdict(True, f"completeness holds: your attributions sum to {total:.3f}, F(x) - F(baseline) = "
                             f"{delta:.3f} ({IG_COMPLETE_STEPS} steps).")
    return Verdict(False, f"your attributions sum to {total:.3f} but F(x) - F(baseline) = {delta:.3f} with "
                          f"{IG_COMPLETE_STEPS} steps: integrated gradients are (x - baseline) times the mean gradient "
                          "of the target logit along the path, so they add up to the change of the logit.")

