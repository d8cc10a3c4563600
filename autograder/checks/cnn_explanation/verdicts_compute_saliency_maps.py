"""Notebook 04's verdicts on ``compute_saliency_maps`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Figure, Tolerance, Verdict
from .context import SALIENCY_IMAGES, Context
from .verdicts import _normalize, _usable


def _verify_saliency(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    s, r = student.get("saliency"), reference["saliency"]
    problem = _usable(student, "saliency", r.shape, "compute_saliency_maps returned")
    if problem:
        return Verdict(False, problem)
    figures = tuple(Figure(f"saliency map of image {i}", s[k], r[k], "heatmap")
                    for k, i in enumerate(SALIENCY_IMAGES[:2]))
    err = norm_relative_error(s, r)
    small, small_ref = student.get("saliency_small"), reference.get("saliency_small")
    if err <= tol.rtol and small_ref is not None:
        problem = _usable(student, "saliency_small", small_ref.shape, "compute_saliency_maps returned (small model)")
        if problem:
            return Verdict(False, problem)
        small_err = norm_relative_error(small, small_ref)
        if small_err > tol.rtol:
            hint = ("normalise each map on its own: (map - map.min()) / (map.max() - map.min()); the food "
                    "classifier's maps have a minimum of 0, this model's do not." if
                    norm_relative_error(_normalize(small, (1, 2)), small_ref) <= tol.rtol else
                    "differentiate the cross-entropy loss of the scores and y, take |gradient| and its maximum over "
                    "the colour channels, then normalise each map to [0, 1].")
            return Verdict(False, f"right on the food images but {100 * min(small_err, 99.99):.1f}% off on a small "
                                  f"smooth classifier (16 x 16 images, 11 classes): {hint}", figures)
    if err <= tol.rtol:
        return Verdict(True, f"matches the reference (relative difference {err:.1e}).", figures)
    renormalized = norm_relative_error(_normalize(s, (1, 2)), r)
    hint = ("it has negative values: take the absolute value of the gradient." if (s < 0).any() else
            "normalise each map on its own: (map - map.min()) / (map.max() - map.min())." if renormalized <= tol.rtol
            else "differentiate the cross-entropy loss of the scores and y (not a logit or a probability), take "
                 "|gradient| and its maximum over the 3 colour channels, then normalise each map to [0, 1].")
    return Verdict(False, f"differs from the reference by {100 * min(err, 99.99):.1f}% (relative L2 difference): "
                          f"{hint}", figures)


def _verify_saliency_normalized(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem = _usable(student, "saliency", reference["saliency"].shape, "compute_saliency_maps returned")
    if problem:
        return Verdict(False, problem)
    s = student["saliency"].astype(np.float64)
    small = student.get("saliency_small")
    if reference.get("saliency_small") is not None:
        problem = _usable(student, "saliency_small", reference["saliency_small"].shape,
                          "compute_saliency_maps returned (small model)")
        if problem:
            return Verdict(False, problem)
        maps = [*s.reshape(len(s), -1), *small.astype(np.float64).reshape(len(small), -1)]
    else:
        maps = list(s.reshape(len(s), -1))
    low, high = np.array([m.min() for m in maps]), np.array([m.max() for m in maps])
    if np.abs(low).max() <= tol.atol and np.abs(high - 1).max() <= tol.atol:
        return Verdict(True, "every map runs from 0 to 1 (HW9's normalisation).")
    return Verdict(False, f"each map must run from 0 to 1 (HW9's normalize, one image at a time); yours have minima "
                          f"{low.min():.3g}..{low.max():.3g} and maxima {high.min():.3g}..{high.max():.3g}.")

