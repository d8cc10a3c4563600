"""Notebook 01's verdicts (trusted side): every check's ``verify``."""
from __future__ import annotations

import numpy as np

from ...arrays import cosine, norm_relative_error, shape_problem
from ...check import Figure, Tolerance, Verdict
from .._kit import autograd_problem, codes_problem, input_problem
from .context import ASCENT_STEPS, NUM_CLASSES, Context

GRADIENT_HINTS = (
    ("predicted", "you differentiated the logit of the predicted class; differentiate image n's logit of "
                  "targets[n]."),
    ("cross", "each image's gradient includes the other images' targets: logits[:, targets] picks every target for "
              "every image; pick one per image with logits.gather(1, targets[:, None]) (or "
              "logits[torch.arange(N), targets])."),
    ("all_logits", "you summed all the logits of each image; select only logits[n, targets[n]]."),
    ("mean", "your gradients are divided by the batch size: sum the selected logits over the batch, do not average "
             "them."),
    ("probability", "you differentiated the softmax probability; differentiate the logit (the model's output) "
                    "itself."),
    ("loss", "you differentiated the cross-entropy loss; differentiate the target's logit itself."),
    ("mean_loss", "you differentiated the mean cross-entropy loss; differentiate the target's logit itself."),
    ("negative", "your gradient has the wrong sign: differentiate the logit, not its negative."),
)


def _verify_gradient(which: str):
    what = {"batch": "a batch of 6 digits", "single": "a single digit", "rgb": "a batch of 3 RGB 32x32 images with 5 "
                                                                                "classes"}[which]

    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        s, r = student.get("grads"), reference["grads"]
        problem = shape_problem(s, r.shape, "logit_gradient returned")
        if problem:
            if which == "rgb" and s is not None and np.ndim(s) == 4 and tuple(np.shape(s)[1:]) == (1, 28, 28):
                problem += " Nothing may be hard-coded to 1x28x28 images: use the shape of images."
            return Verdict(False, problem)
        figures = tuple(Figure(f"d logit[target] / d image, image {n} (summed over channels)", s[n].sum(0), r[n].sum(0),
                               "heatmap") for n in range(min(2, len(r))))
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"matches the reference on {what} (relative difference {err:.1e}).", figures)
        alternatives = ctx.alternatives(which)
        hint = next((message for key, message in GRADIENT_HINTS
                     if norm_relative_error(alternatives[key], alternatives["reference"]) > 0.05
                     and norm_relative_error(s, alternatives[key]) < 0.01),
                    "differentiate each image's own target logit, logits[n, targets[n]], with respect to the image "
                    "(one backward pass of their sum).")
        return Verdict(False, f"on {what} your gradients differ from the reference by {100 * min(err, 99.99):.1f}% "
                              f"(relative L2 difference): {hint}", figures)
    return verify


def _verify_untouched(name: str, original):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        problem = input_problem(student, original(ctx).numpy(), name)
        if problem:
            return Verdict(False, problem)
        return Verdict(True, f"the caller's `{name}` is left as it was.")
    return verify


def _verify_params(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem = autograd_problem(student, missing_fails=True)
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "no weight of the model got a .grad and the result carries no gradient history.")


def _verify_errors(name: str, cases: tuple[str, ...]):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        hint = "check the input first and raise ValueError or TypeError with a message saying what was expected."
        problem = codes_problem(student, cases, name, (hint,) * len(cases), accepted="ValueError or TypeError")
        if problem:
            return Verdict(False, problem)
        return Verdict(True, f"{name} raises a clear error for each bad input ({'; '.join(cases)}).")
    return verify


def _ascent_arrays(student) -> tuple[str | None, np.ndarray | None, np.ndarray | None]:
    """(problem, images, probabilities): problem is None when both are usable (right rank, finite)."""
    images, probs = student.get("images"), student.get("probabilities")
    steps1 = ASCENT_STEPS + 1
    if images is None or probs is None:
        return "gradient_ascent: no output came back.", None, None
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or not 1 <= len(images) <= steps1:
        return (f"images: expected shape ({steps1}, 1, 28, 28) (the start and every step), got "
                f"{tuple(images.shape)}."), None, None
    for what, a in (("images", images), ("probabilities", probs)):
        if not np.isfinite(a).all():
            return f"{what}: contains NaN or infinite values.", None, None
    return None, images, probs


def _verify_ascent_start(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, images, probs = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    steps1 = ASCENT_STEPS + 1
    if len(images) == ASCENT_STEPS:
        return Verdict(False, f"images has {ASCENT_STEPS} images for {ASCENT_STEPS} steps: include the start image "
                              f"as images[0], so the shape is ({steps1}, 1, 28, 28).")
    if len(images) != steps1:
        return Verdict(False, f"images: expected shape ({steps1}, 1, 28, 28), got {tuple(images.shape)}.")
    if probs.shape != (steps1, NUM_CLASSES):
        return Verdict(False, f"probabilities: expected shape ({steps1}, {NUM_CLASSES}), one row per image, got "
                              f"{tuple(probs.shape)}.")
    if float(np.abs(images[0] - ctx.ascent_image[0].numpy()).max()) > tol.atol:
        return Verdict(False, "images[0] is not the start image: images[0] must be the image you were given, before "
                              "any step.")
    if float(np.abs(images[-1] - images[0]).max()) <= tol.atol:   # a yardstick the student does not control
        return Verdict(False, f"images[{ASCENT_STEPS}] is still the start image: after {ASCENT_STEPS} steps of "
                              "length step_size the image must have moved (images[k] is the image after k steps).")
    return Verdict(True, f"images ({steps1}, 1, 28, 28) start with the given image; probabilities are "
                         f"({steps1}, {NUM_CLASSES}).")


def _verify_ascent_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, images, _ = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    start = ctx.ascent_image.numpy().astype(np.float64)            # (1, 1, 28, 28)
    ref = reference["images"].astype(np.float64)
    s = images.astype(np.float64)
    if len(s) not in (ASCENT_STEPS, ASCENT_STEPS + 1):
        return Verdict(False, f"images: expected shape ({ASCENT_STEPS + 1}, 1, 28, 28), got {tuple(s.shape)}.")
    r = ref[1:] if len(s) == ASCENT_STEPS else ref               # the start left out: judged by the check above
    figures = (Figure(f"the image after {ASCENT_STEPS} steps", s[-1, 0], r[-1, 0], "heatmap"),)
    err = norm_relative_error(s - start, r - start)
    if err <= tol.rtol:
        return Verdict(True, f"all {ASCENT_STEPS} steps match the reference (relative difference {err:.1e}).", figures)
    first_s = s[1] - start[0] if len(s) == len(ref) else s[0] - start[0]
    first_r = ref[1] - start[0]
    first_ok = norm_relative_error(first_s, first_r) < 0.01
    p_target = ctx.probabilities(s.astype(np.float32))[:, ctx.ascent_target]
    hint = ("pixel values left [0, 1]: clip the image to [0, 1] after every step (`.clamp(0, 1)`)."
            if s.min() < -1e-4 or s.max() > 1 + 1e-4 else
            "the steps make the target less likely: gradient ASCENT adds step_size * g / ||g||_2."
            if cosine(first_s, first_r) < -0.9 or (np.isfinite(p_target).all() and p_target[-1] < p_target[0]) else
            "the first step points the right way but has the wrong length: divide the gradient by its L2 norm over "
            "the whole image, x + step_size * g / ||g||_2." if cosine(first_s, first_r) > 0.99 and not first_ok else
            "the first step matches but later ones do not: take a fresh gradient at the current image at every "
            "step (with `.backward()`, the .grad of a tensor accumulates across calls; use torch.autograd.grad or "
            "your logit_gradient)." if first_ok else
            "step k is x_{k+1} = clip(x_k + step_size * g_k / ||g_k||_2, 0, 1), with g_k the gradient of the target's "
            "logit at x_k.")
    return Verdict(False, f"your steps differ from the reference by {100 * min(err, 99.99):.1f}% (relative L2 "
                          f"difference of the changes): {hint}", figures)


def _verify_ascent_probabilities(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """probabilities[k] must be the model's softmax for the student's own images[k] (judged apart from the steps)."""
    problem, images, probs = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    if probs.shape != (len(images), NUM_CLASSES):
        return Verdict(False, f"probabilities: expected shape ({len(images)}, {NUM_CLASSES}), one row per image, got "
                              f"{tuple(probs.shape)}.")
    expected = ctx.probabilities(images)
    if not np.isfinite(expected).all():
        return Verdict(False, "the model's outputs for your images are not finite: return images with pixel values "
                              "in [0, 1].")
    probs = probs.astype(np.float64)
    diff = float(np.abs(probs - expected).max())
    if diff <= tol.atol:
        return Verdict(True, "probabilities are the model's softmax for each of your images.")
    sums = probs.sum(axis=1)
    hint = ("these are log-probabilities: return softmax(logits), not log_softmax." if (probs < 0).all() else
            "the rows do not sum to 1: apply softmax to the logits (`model(images).softmax(dim=1)`)."
            if np.abs(sums - 1).max() > 1e-3 else
            "probabilities[k] must belong to images[k] (the start image first, then the image after each step)."
            if len(probs) > 1 and float(np.abs(probs[1:] - expected[:-1]).max()) <= tol.atol else
            "compute softmax(model(images)) for the images you return, with the model as given.")
    return Verdict(False, f"probabilities differ from the model's softmax for your images by up to {diff:.3f}: {hint}")


