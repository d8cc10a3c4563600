"""Notebook 01's probes (untrusted side: they run the student's functions) and the Probe objects."""
from __future__ import annotations

import numpy as np

from ...arrays import flag, to_array
from ...check import Probe, follows_reference
from .._kit import has_history, input_state, params_touched, raises, unpack_pair
from .context import ASCENT_STEP_SIZE, ASCENT_STEPS, NUM_CLASSES, Context


def _gradient_probe(which: str):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        _, X, t = ctx.inputs(which)
        model, X, t = ctx.fresh_model(which == "rgb"), ctx.on_device(X), ctx.on_device(t)
        out = fn(model, X, t)
        return {"grads": to_array(out, "logit_gradient returned"), **input_state(X, name="images"),
                "params_touched": params_touched(model),
                "history": flag(has_history(out))}
    return run


GRADIENT_ERROR_CASES = ("one image without its batch axis, shape (1, 28, 28)", "uint8 images",
                        f"a target equal to the number of classes ({NUM_CLASSES})", "a negative target (-1)",
                        "one target more than there are images")


def _gradient_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    import torch

    model, X, t = ctx.fresh_model(), ctx.on_device(ctx.X), ctx.on_device(ctx.targets)
    codes = [raises(fn, model, X[0], t[:1]), raises(fn, model, (X * 255).to(torch.uint8), t),
             raises(fn, model, X, torch.full_like(t, NUM_CLASSES)), raises(fn, model, X, torch.full_like(t, -1)),
             raises(fn, model, X, torch.cat([t, t[:1]])),
             raises(fn, model, X, t)]                                    # the last call is valid: must return
    return {"codes": np.asarray(codes, dtype=np.int64)}


def _ascent_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    model, image = ctx.fresh_model(), ctx.on_device(ctx.ascent_image)
    out = fn(model, image, ctx.ascent_target, ASCENT_STEPS, ASCENT_STEP_SIZE)
    unpack_pair(out, "gradient_ascent returned", "images, probabilities")
    return {"images": to_array(out[0], "gradient_ascent's images"),
            "probabilities": to_array(out[1], "gradient_ascent's probabilities"),
            **input_state(image, name="image"),
            "params_touched": params_touched(model), "history": flag(has_history(out))}


ASCENT_ERROR_CASES = (f"target {NUM_CLASSES}", "target -1", "an image without its batch axis, shape (1, 28, 28)",
                      "two images, shape (2, 1, 28, 28)")


def _ascent_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    model, image = ctx.fresh_model(), ctx.on_device(ctx.ascent_image)
    codes = [raises(fn, model, image, NUM_CLASSES, 1, ASCENT_STEP_SIZE),
             raises(fn, model, image, -1, 1, ASCENT_STEP_SIZE),
             raises(fn, model, image[0], ctx.ascent_target, 1, ASCENT_STEP_SIZE),
             raises(fn, model, image.expand(2, -1, -1, -1).clone(), ctx.ascent_target, 1, ASCENT_STEP_SIZE),
             raises(fn, model, image, ctx.ascent_target, 1, ASCENT_STEP_SIZE)]   # valid: must return
    return {"codes": np.asarray(codes, dtype=np.int64)}


def _follows_a_gradient(which: str):
    """``Probe.engaged`` (trusted): the student's gradients follow the model's gradient of the target's logit or
    of one of the known mistakes (:meth:`Context.alternatives`: another class, the probability, the loss...), so
    an honest wrong objective keeps its side-effect points; the input echoed, a constant or noise does not."""
    def engaged(student, reference, ctx: Context) -> bool:
        follows = follows_reference("grads")
        return any(follows(student, {"grads": g}, ctx) for g in ctx.alternatives(which).values())
    return engaged


GRADIENT_BATCH = Probe("gradient_batch", "logit_gradient", _gradient_probe("batch"),
                        engaged=_follows_a_gradient("batch"))
GRADIENT_SINGLE = Probe("gradient_single", "logit_gradient", _gradient_probe("single"),
                         engaged=_follows_a_gradient("single"))
GRADIENT_RGB = Probe("gradient_rgb", "logit_gradient", _gradient_probe("rgb"),
                      engaged=_follows_a_gradient("rgb"))
GRADIENT_ERRORS = Probe("gradient_errors", "logit_gradient", _gradient_errors)
ASCENT = Probe("ascent", "gradient_ascent", _ascent_probe)
ASCENT_ERRORS = Probe("ascent_errors", "gradient_ascent", _ascent_errors)

