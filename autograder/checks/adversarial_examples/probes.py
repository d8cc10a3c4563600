"""Notebook 03's probes (untrusted side: they run the student's functions) and the Probe objects."""
from __future__ import annotations

import numpy as np

from ...arrays import flag, to_array
from ...check import Probe, follows_reference
from .._kit import has_history, input_state, kind, params_touched, raises, unpack_pair
from .context import (
    FGSM_EPS,
    FGSM_IMAGES,
    GRADIENT_TARGET,
    LINEAR_EPS,
    LINEAR_TARGET,
    SHORT_STEPS,
    TARGETED_EPS,
    TARGETED_STEP,
    TARGETED_STEPS,
    TRICK_EDGE_STEP,
    TRICK_STEP_SIZE,
    TRICK_STEPS,
    TRICK_TARGET,
    Context,
)


def _output(out: dict, key: str, value, like, what: str) -> None:
    out[key] = to_array(value, what)
    out[f"{key}_kind"] = kind(value, like)


def _inputs_after(out: dict, x, model=None, results=()) -> None:
    """The caller's image after the call; with ``model`` whether a weight got a ``.grad`` (the model is handed over
    without any), with ``results`` whether a returned tensor keeps gradient history (the docstrings ask for none)."""
    out.update(input_state(x, name="image"))
    if model is not None:
        out["params_touched"] = params_touched(model)
    out["history"] = flag(has_history(tuple(results)))


def _gradient_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.gradient_images())
    like, model, out = x.detach().clone(), ctx.fresh_model(), {}
    first = fn(x, GRADIENT_TARGET, model)
    _output(out, "gradient", first, like, "compute_gradient returned")
    _output(out, "gradient_again", fn(x, GRADIENT_TARGET, model), like, "compute_gradient returned (second call)")
    _inputs_after(out, x, model, (first,))
    return out


def _trick_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.trick_images())
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    result = fn(x, TRICK_TARGET, model, n_steps=TRICK_STEPS, step_size=TRICK_STEP_SIZE, classes=ctx.trick_classes())
    image, probabilities = unpack_pair(result, "trick returned", "image, probabilities")
    _output(out, "image", image, like, "trick returned image")
    _output(out, "probabilities", probabilities, like, "trick returned probabilities")
    _inputs_after(out, x, model, (image, probabilities))
    return out


def _trick_edge_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.edge_image())
    image, _ = unpack_pair(fn(x, TRICK_TARGET, ctx.fresh_model(), n_steps=1, step_size=TRICK_EDGE_STEP,
                               classes=None), "trick returned", "image, probabilities")
    out: dict = {}
    _output(out, "image", image, x, "trick returned image")
    return out


def _fgsm_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x, label = ctx.on_device(ctx.X[FGSM_IMAGES]), ctx.on_device(ctx.y[FGSM_IMAGES])
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    result = fn(x, label, model, FGSM_EPS)
    _output(out, "adversarial", result, like, "fgsm returned")
    _inputs_after(out, x, model, (result,))
    # One channel, and a classifier unsure between many classes (a seeded linear model of the digits): there the
    # loss of the logits and the loss of probabilities (softmax twice) move different pixels.
    digits = ctx.on_device(ctx.digits)
    digit_result = fn(digits, ctx.on_device(ctx.digit_y), _digit_classifier(ctx), FGSM_EPS)
    _output(out, "digits", digit_result, digits.detach().clone(), "fgsm returned (1-channel digits)")
    return out


def _digit_classifier(ctx: Context):
    """A frozen linear classifier of (N, 1, 28, 28) digits with the context's seeded weights (no bias)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(ctx.weights)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(ctx.device).eval()


def _targeted_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    images, targets = ctx.targeted_inputs()
    x, t = ctx.on_device(images), ctx.on_device(targets)
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    result = fn(x, t, model, TARGETED_EPS, step_size=TARGETED_STEP, num_steps=TARGETED_STEPS)
    _output(out, "adversarial", result, like, "targeted_attack returned")
    _inputs_after(out, x, model, (result,))
    return out


def _short_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    images, targets = ctx.short_inputs()
    x, t = ctx.on_device(images), ctx.on_device(targets)
    out: dict = {}
    result = fn(x, t, ctx.fresh_model(), TARGETED_EPS, step_size=TARGETED_STEP, num_steps=SHORT_STEPS)
    _output(out, "adversarial", result, x.detach().clone(), "targeted_attack returned")
    return out


def _bad_input_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.X[:1])
    target = (int(ctx.y[0]) + 1) % ctx.num_classes
    below, above, edges = x.clone(), x.clone(), x.clone()
    below[0, 0, 0, 0], above[0, -1, -1, -1] = -0.01, 1.01
    edges[0, 0, 0, 0], edges[0, -1, -1, -1] = 0.0, 1.0                 # exactly 0 and 1 lie inside [0, 1]
    cases = {"negative_eps": (x, target, -1 / 255), "pixels_below_0": (below, target, TARGETED_EPS),
             "pixels_above_1": (above, target, TARGETED_EPS), "target_out_of_range": (x, ctx.num_classes, TARGETED_EPS),
             "negative_target": (x, -1, TARGETED_EPS)}
    out = {}
    for name, (image, t, eps) in cases.items():   # any other failure than ValueError is "no clear ValueError"
        out[name] = flag(raises(fn, image, t, ctx.fresh_model(), eps, accept=ValueError, step_size=TARGETED_STEP,
                                num_steps=1) == 0)
    for name, (image, t, eps) in {"valid_zero_eps": (x, target, 0.0), "valid_pixels_0_and_1": (edges, target, 0.1),
                                  "valid_target_0": (x, 0, TARGETED_EPS)}.items():   # valid input must not raise
        out[name] = flag(raises(fn, image, t, ctx.fresh_model(), eps, accept=ValueError, step_size=TARGETED_STEP,
                                num_steps=1) == 2)
    return out


def _linear_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x, label, w = ctx.on_device(ctx.digits), ctx.on_device(ctx.digit_y), ctx.on_device(ctx.weights)
    like, out = x.detach().clone(), {}
    _output(out, "adversarial", fn(x, label, LINEAR_TARGET, w, LINEAR_EPS), like, "fool_linear_classifier returned")
    _inputs_after(out, x)
    return out


GRADIENT_PROBE = Probe("gradient", "compute_gradient", _gradient_probe,
                       engaged=follows_reference("gradient", Context.gradient_images, changes=False))
TRICK_PROBE = Probe("trick", "trick", _trick_probe, engaged=follows_reference("image", Context.trick_images))
TRICK_EDGE_PROBE = Probe("trick_edge", "trick", _trick_edge_probe,
                         engaged=follows_reference("image", Context.edge_image))
FGSM_PROBE = Probe("fgsm", "fgsm", _fgsm_probe,
                   engaged=follows_reference("adversarial", lambda ctx: ctx.X[FGSM_IMAGES]))
TARGETED_PROBE = Probe("targeted", "targeted_attack", _targeted_probe,
                       engaged=follows_reference("adversarial", lambda ctx: ctx.targeted_inputs()[0]))
SHORT_PROBE = Probe("targeted_short", "targeted_attack", _short_probe)
BAD_INPUT_PROBE = Probe("targeted_bad_input", "targeted_attack", _bad_input_probe)
LINEAR_PROBE = Probe("linear", "fool_linear_classifier", _linear_probe,
                     engaged=follows_reference("adversarial", lambda ctx: ctx.digits))
