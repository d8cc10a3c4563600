"""Notebook 04's verdicts on ``filter_explanation`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import cosine, norm_relative_error
from ...check import Figure, Tolerance, Verdict
from .context import (
    FILTER_ASCENT_ID,
    FILTER_ASCENT_ITERATIONS,
    FILTER_ASCENT_LR,
    FILTER_ASCENT_RTOL,
    FILTER_ID,
    FILTER_IMAGES,
    FILTER_ITERATIONS,
    FILTER_LAYER,
    FILTER_RAISE_SHARE,
    FILTER_SEED,
    Context,
)
from .verdicts import _normalize, _usable


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

