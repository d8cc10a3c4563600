"""Checks for notebook 04 (explaining a CNN, ML2021 HW9): saliency maps, SmoothGrad, filter explanation, integrated
gradients and the quiz.

The inputs and probes are in :mod:`.cnn_explanation_probes`, the example bodies in :mod:`.cnn_explanation_examples`.
Stochastic functions are checked by limit cases and statistics, never against one random draw. Points: saliency
3.5, SmoothGrad 4, filter explanation 6, integrated gradients 4, quiz 22 x 0.5 = 11.
"""
from __future__ import annotations

import numpy as np

from ..arrays import cosine, norm_relative_error, shape_problem
from ..check import Assignment, Check, Figure, Tolerance, Verdict
from .cnn_explanation_probes import (
    ASSIGNMENT_ID, FILTER_ASCENT_ID, FILTER_ASCENT_ITERATIONS, FILTER_ASCENT_LR, FILTER_ASCENT_RTOL, FILTER_BN_LAYER,
    FILTER_BN_PROBE, FILTER_ID, FILTER_IMAGES, FILTER_ITERATIONS, FILTER_LAYER, FILTER_PROBE, FILTER_RAISE_SHARE,
    FILTER_SEED, FUNCTIONS, IG_BATCH, IG_BATCH_STEPS, IG_COMPLETE_IMAGE, IG_COMPLETE_PROBE, IG_COMPLETE_RTOL,
    IG_COMPLETE_STEPS,
    IG_IMAGE, IG_PROBE, IG_SMALL_STEPS, NOTEBOOK, PLAUSIBLE, QUESTIONS, SALIENCY_IMAGES, SALIENCY_PROBE,
    SMOOTH_NOISE_RTOL, SMOOTH_SHIFT, SMOOTH_SPREAD, SMOOTH_SPY_DRAWS, SMOOTH_SPY_EPOCH, SMOOTH_SPY_EPOCHS,
    SMOOTH_SPY_MULTIPLIER, SMOOTH_STATS_PROBE, SMOOTH_ZERO_IMAGE, SMOOTH_ZERO_PROBE, Context, make_context)
from .quiz import quiz_checks


# ------------------------------------------------------------------------------------------------ checks (trusted side)

def _usable(student, key: str, shape, what: str) -> str | None:
    """A message when ``student[key]`` is missing, misshapen, non-finite, implausibly large or not the input's
    dtype."""
    value = student.get(key)
    problem = shape_problem(value, shape, what)
    if problem:
        return problem
    if float(np.abs(value).max(initial=0.0)) > PLAUSIBLE:
        return f"{what}: values up to {float(np.abs(value).max()):.3g}, far outside any image or map."
    if not bool(student.get(f"{key}_dtype_ok", True)):
        return f"{what}: expected the input's dtype (float32); do not convert the result."
    return None


def _untouched(student, x: np.ndarray, key: str = "x") -> Verdict:
    after = student.get(f"{key}_after")
    if after is None or after.shape != x.shape or not np.array_equal(after, x):
        return Verdict(False, f"your function modified its input {key}: work on a copy (`{key}.detach().clone()`) "
                              "or use torch.autograd.grad; never change the caller's tensor.")
    if bool(student.get(f"{key}_requires_grad", False)):
        return Verdict(False, f"your function switched on {key}.requires_grad of the caller's tensor (HW9's "
                              f"`{key}.requires_grad_()`); work on a copy instead.")
    return Verdict(True, f"{key} is left as it was.")


def _normalize(maps: np.ndarray, axes) -> np.ndarray:
    maps = maps.astype(np.float64)
    low, high = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    return (maps - low) / np.where(high > low, high - low, 1.0)


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


def _verify_activations(layer: int):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        r = reference["activations"]
        problem = _usable(student, "activations", r.shape, "filter_activations")
        if problem:
            return Verdict(False, problem)
        s = student["activations"]
        figures = (Figure(f"cnn[{layer}] filter {FILTER_ID}, image {FILTER_IMAGES[0]}", s[0], r[0], "heatmap"),)
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"the activations of model.cnn[{layer}] match (difference {err:.1e}).", figures)
        hint = ("they are the values after the in-place ReLU that follows this layer: store output.clone() in the "
                "hook." if norm_relative_error(s, np.maximum(r, 0)) <= tol.rtol else
                "register the forward hook on model.cnn[cnnid], run the images x through the model and keep "
                "output[:, filterid] (detached).")
        return Verdict(False, f"the activations of model.cnn[{layer}] differ from the reference by "
                              f"{100 * min(err, 99.99):.1f}%: {hint}", figures)
    return verify


def _visualization_gain(student, reference, ctx: Context, key: str = "visualizations"):
    """(problem, student's mean activation, reference's, the noise start's) of the filter."""
    problem = _usable(student, key, reference[key].shape, "filter_visualizations")
    if problem:
        return problem, None, None, None
    import torch

    generator = torch.Generator().manual_seed(12345)
    noise = torch.rand(reference[key].shape, generator=generator).numpy()
    acts = [ctx.layer_activation(a.astype(np.float32), FILTER_LAYER, FILTER_ID)
            for a in (student[key], reference[key], noise)]
    if not all(np.isfinite(a).all() for a in acts):
        return "the model's activations of your visualizations are not finite.", None, None, None
    return None, *(float(a.mean()) for a in acts)


def _verify_raises(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, got, ref, start = _visualization_gain(student, reference, ctx)
    if problem:
        return Verdict(False, problem)
    figures = (Figure("visualization (image 0)", _display(student["visualizations"][0]),
                      _display(reference["visualizations"][0])),)
    needed = start + FILTER_RAISE_SHARE * (ref - start)
    if got >= needed:
        problem = _usable(student, "ascent", reference["ascent"].shape, "filter_visualizations (from given noise)")
        if problem:
            return Verdict(False, problem)
        err = norm_relative_error(student["ascent"], reference["ascent"])
        if err <= FILTER_ASCENT_RTOL:
            return Verdict(True, f"your visualizations raise the filter's mean activation from about {start:.3f} "
                                 f"(noise) to {got:.3f}, and from a given noise image your Adam steps match the "
                                 f"reference's (difference {err:.1e}).", figures)
        return Verdict(False, f"from the same noise image (filter {FILTER_ASCENT_ID}, iteration="
                              f"{FILTER_ASCENT_ITERATIONS}, lr={FILTER_ASCENT_LR:g}) your visualization differs from "
                              f"the reference's by {100 * min(err, 99.99):.1f}%: use filterid, exactly `iteration` "
                              "steps of torch.optim.Adam([image], lr=lr), optimizer.zero_grad() before each "
                              "backward, and the objective -activation[:, filterid].sum().")
    return Verdict(False, f"your visualizations give the filter a mean activation of {got:.3f}; noise gives about "
                          f"{start:.3f} and {FILTER_ITERATIONS} Adam steps should reach at least {needed:.3f}: "
                          "maximise the activation (minimise -activation[:, filterid].sum()) with "
                          "torch.optim.Adam([image], lr=lr) for `iteration` steps.", figures)


def _display(image: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` float -> uint8 ``(H, W, 3)`` after HW9's min-max normalisation."""
    shown = _normalize(image.transpose(1, 2, 0), None)
    return np.round(shown * 255).astype(np.uint8)


def _verify_from_noise(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    shape = reference["visualizations"].shape
    for key in ("visualizations", "visualizations_other"):
        problem = _usable(student, key, shape, "filter_visualizations")
        if problem:
            return Verdict(False, problem)
    a, b = student["visualizations"], student["visualizations_other"]
    if float(a.std()) < 1e-6:
        return Verdict(False, "your visualizations are constant images; start from noise and optimise it.")
    import torch

    start = torch.Generator().manual_seed(FILTER_SEED)
    start = torch.rand(a.shape, generator=start).numpy()
    if norm_relative_error(a, start) <= 1e-3:
        return Verdict(False, "your visualizations are the starting noise itself: optimise it (Adam steps that raise "
                              "the filter's activation).")
    x = ctx.X[FILTER_IMAGES].numpy()
    err = norm_relative_error(b, a)
    if err <= tol.rtol:
        return Verdict(True, "your visualizations do not depend on the input images: they start from noise.")
    hint = ("they look like the input images: HW9's code optimises the real images; start from "
            "torch.rand_like(x) instead." if cosine(a - a.mean(), x - x.mean()) > 0.5 else
            "start from torch.rand_like(x) (the same random seed must give the same visualization whatever x holds).")
    return Verdict(False, f"called twice with the same random seed and different images, your visualizations "
                          f"differ by {100 * min(err, 99.99):.1f}%: {hint}")


def _verify_hooks(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    left = int(np.asarray(student.get("hooks_left", -1)))
    after_error = int(np.asarray(student.get("hooks_left_after_error", -1)))
    if left == 0 and after_error != 0:
        return Verdict(False, f"{after_error} hook(s) left registered on the model when it raised an error inside "
                              "your optimisation loop: call handle.remove() in a finally: block, so that it runs "
                              "on every way out of the function.")
    if left == 0:
        return Verdict(True, "no hook is left on the model, also when the model raises mid-loop.")
    return Verdict(False, f"{left} hook(s) left registered on the model after your function returned: call "
                          "handle.remove() in a finally: block.")


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


def _verify_untouched(key: str, image):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        return _untouched(student, image(ctx).numpy(), key)
    return verify


CHECKS = (
    Check("saliency_reference", SALIENCY_PROBE, 2, "saliency maps of 4 images match the reference",
          _verify_saliency, Tolerance(rtol=2e-2)),
    Check("saliency_normalized", SALIENCY_PROBE, 1, "each saliency map is normalised to [0, 1]",
          _verify_saliency_normalized, Tolerance(atol=1e-4)),
    Check("saliency_input_untouched", SALIENCY_PROBE, 0.5, "compute_saliency_maps leaves x as it was",
          _verify_untouched("x", lambda ctx: ctx.X[SALIENCY_IMAGES]), side_effect=True),
    Check("smooth_grad_zero_noise", SMOOTH_ZERO_PROBE, 1.5, "SmoothGrad without noise is the saliency map",
          _verify_smooth_zero, Tolerance(rtol=2e-2)),
    Check("smooth_grad_statistics", SMOOTH_STATS_PROBE, 2, "SmoothGrad agrees with the reference in distribution",
          _verify_smooth_stats, Tolerance(atol=1e-6)),
    Check("smooth_grad_input_untouched", SMOOTH_ZERO_PROBE, 0.5, "smooth_grad leaves x as it was",
          _verify_untouched("x", lambda ctx: ctx.X[SMOOTH_ZERO_IMAGE]), side_effect=True),
    Check("filter_activations", FILTER_PROBE, 1.5, "the activations of model.cnn[6] match the reference",
          _verify_activations(FILTER_LAYER), Tolerance(rtol=1e-3)),
    Check("filter_activations_cloned", FILTER_BN_PROBE, 1,
          "the activations of model.cnn[7] (before its in-place ReLU) match the reference",
          _verify_activations(FILTER_BN_LAYER), Tolerance(rtol=1e-3)),
    Check("filter_visualization_raises", FILTER_PROBE, 1.5, "the filter visualization raises the filter's activation",
          _verify_raises),
    Check("filter_visualization_from_noise", FILTER_PROBE, 1, "the filter visualization starts from noise",
          _verify_from_noise, Tolerance(rtol=2e-2), needs_work=True),
    Check("filter_hooks_removed", FILTER_PROBE, 0.5, "no forward hook is left on the model", _verify_hooks,
          side_effect=True),
    Check("filter_input_untouched", FILTER_PROBE, 0.5, "filter_explanation leaves x as it was",
          _verify_untouched("x", lambda ctx: ctx.X[FILTER_IMAGES]), side_effect=True),
    Check("ig_reference", IG_PROBE, 2, "integrated gradients (8 steps) match the reference", _verify_ig,
          Tolerance(rtol=1e-2)),
    Check("ig_completeness", IG_COMPLETE_PROBE, 1.5, "the attributions (48 steps) sum to F(x) - F(baseline)",
          _verify_completeness, Tolerance(rtol=IG_COMPLETE_RTOL, atol=0.02)),
    Check("ig_input_untouched", IG_PROBE, 0.5, "generate_integrated_gradients leaves input_image as it was",
          _verify_untouched("input_image", lambda ctx: ctx.X[IG_IMAGE:IG_IMAGE + 1]), side_effect=True),
    *quiz_checks(QUESTIONS, variable="ANSWERS", points=0.5),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
