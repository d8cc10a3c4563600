"""Notebook 04's verdicts on ``smooth_grad`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Figure, Tolerance, Verdict
from .context import (
    SMOOTH_NOISE_RTOL,
    SMOOTH_SHIFT,
    SMOOTH_SPREAD,
    SMOOTH_SPY_DRAWS,
    SMOOTH_SPY_EPOCH,
    SMOOTH_SPY_EPOCHS,
    SMOOTH_SPY_MULTIPLIER,
    Context,
)
from .verdicts import _normalize, _usable


def _verify_smooth_zero(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    r = reference["smooth"]
    problem = _usable(student, "smooth", r.shape, "smooth_grad returned")
    if problem:
        return Verdict(False, problem)
    s = student["smooth"]
    figures = (Figure("zero noise: max over channels", s.max(0), r.max(0), "heatmap"),)
    err = norm_relative_error(s, r)
    if err <= tol.rtol:
        return Verdict(True, f"with zero noise your SmoothGrad is the saliency map (difference {err:.1e}).", figures)
    hint = ("normalise the averaged map to [0, 1] over the whole (3, H, W) map." if
            norm_relative_error(_normalize(s, None), r) <= tol.rtol else
            "it has negative values: average |gradient|, not the signed gradient." if (s < 0).any() else
            "with param_sigma_multiplier = 0 every noisy copy is x itself: average |d cross-entropy / d x| over the "
            "copies (no max over channels), then normalise to [0, 1].")
    return Verdict(False, f"with zero noise your map differs from the saliency map by {100 * min(err, 99.99):.1f}%: "
                          f"{hint}", figures)


def _verify_smooth_stats(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """SmoothGrad is random: judged by what does not depend on one draw, with yardsticks the student does not
    control. A spy in front of the small smooth classifier records every noisy copy (probe
    ``_smooth_spy_probe``): (1) each call makes exactly ``epoch`` copies (epoch 1, 40 = more than one batch of 32,
    and 6); (2) their noise has the stated standard deviation ``multiplier * (x.max() - x.min())`` (within
    ``SMOOTH_NOISE_RTOL``, about 30000 values) and mean 0; (3) 24 maps of 6 copies each agree with the reference's 24
    in distribution: the distance of the two mean maps in units of the standard error that the *reference's* maps
    give (about 1 for a correct answer with another random stream, allowed ``SMOOTH_SHIFT``), and the maps' spread
    within a factor ``SMOOTH_SPREAD`` of the reference's.

    Keeps full marks: batched or per-sample noise, another random stream (np.random, per-sample ``normal_``), chunks,
    ``x - sigma * noise``. Loses: sigma = multiplier / range (HW9), sigma**2 as the standard deviation (HW9), the
    multiplier alone (ignoring the range), no noise at all (or a random pixel per call), another number of copies
    (a loop off by one, a fixed count, the last batch not shortened), the absolute value after averaging, softmax
    in the loss, a normalisation without ``- min`` or with ``max + min``."""
    copies = np.asarray(student.get("copies", np.zeros(0)), dtype=np.float64).ravel()
    epochs = (*SMOOTH_SPY_EPOCHS, *(SMOOTH_SPY_EPOCH,) * SMOOTH_SPY_DRAWS)
    if copies.shape != (len(epochs),) or not np.isfinite(copies).all():
        return Verdict(False, "smooth_grad did not call the model on noisy copies of x of shape (n, 3, H, W).")
    for epoch, n in zip(epochs, copies):
        if n != epoch:
            return Verdict(False, f"with epoch = {epoch} the model saw {int(n)} noisy copies of x: make exactly "
                                  f"epoch copies (in batches of batch_size, the last batch holds what is left).")
    x = ctx.smooth_spy_image().double()
    sigma = SMOOTH_SPY_MULTIPLIER * float(x.max() - x.min())
    std = float(np.asarray(student.get("noise_std", np.nan)))
    mean = float(np.asarray(student.get("noise_mean", np.nan)))
    if not (np.isfinite(std) and np.isfinite(mean)):
        return Verdict(False, "the noise of your copies is not finite.")
    if abs(std - sigma) > SMOOTH_NOISE_RTOL * sigma or abs(mean) > 0.05 * sigma:
        return Verdict(False, f"the noise of your copies has standard deviation {std:.4f} and mean {mean:+.4f}; with "
                              f"multiplier {SMOOTH_SPY_MULTIPLIER:g} and this image's range "
                              f"{float(x.max() - x.min()):.3f} it must be N(0, sigma^2) with sigma = "
                              f"param_sigma_multiplier * (x.max() - x.min()) = {sigma:.4f} (HW9 divided by the range "
                              "and squared sigma).")
    r = reference["maps"].astype(np.float64)
    problem = _usable(student, "maps", r.shape, "smooth_grad returned")
    if problem:
        return Verdict(False, problem)
    m = student["maps"].astype(np.float64)
    low, high = m.min(axis=(1, 2, 3)), m.max(axis=(1, 2, 3))
    if np.abs(low).max() > 1e-4 or np.abs(high - 1).max() > 1e-4:
        return Verdict(False, f"each SmoothGrad map must run from 0 to 1 (normalised over the whole (3, H, W) map); "
                              f"yours have minima {low.min():.3g}..{low.max():.3g} and maxima {high.min():.3g}.."
                              f"{high.max():.3g}: (smooth - smooth.min()) / (smooth.max() - smooth.min()).")
    k = len(r)
    se = np.sqrt(2 * r.var(axis=0, ddof=1).sum() / k)
    shift = float(np.linalg.norm(m.mean(0) - r.mean(0)) / max(se, 1e-12))
    spread = float(np.sqrt(m.var(axis=0, ddof=1).sum() / max(r.var(axis=0, ddof=1).sum(), 1e-24)))
    figures = (Figure(f"mean of {k} SmoothGrad maps (max over channels)", m.mean(0).max(0), r.mean(0).max(0),
                      "heatmap"),)
    if shift <= SMOOTH_SHIFT and 1 / SMOOTH_SPREAD <= spread <= SMOOTH_SPREAD:
        return Verdict(True, f"your SmoothGrad agrees with the reference in distribution (mean {shift:.1f} standard "
                             f"errors away, spread ratio {spread:.2f}).", figures)
    hint = ("average |d cross-entropy / d x| of the copies (the absolute value before the average; the loss of "
            "the scores, not of probabilities).")
    return Verdict(False, f"your SmoothGrad maps are {shift:.1f} standard errors from the reference's mean (allowed "
                          f"{SMOOTH_SHIFT:g}) with {spread:.2f} times its spread: {hint}", figures)


