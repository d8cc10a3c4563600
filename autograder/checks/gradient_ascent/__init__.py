"""Checks for notebook 01 (gradient ascent on digits): ``logit_gradient`` and ``gradient_ascent``.

Every probe uses the seeded, *untrained* digit CNN (``hwlib.digit_cnn(seed=0)``; weights drawn from torch's CPU
generator, the same on every machine; its parameters require gradients, as in the middle of training) and the first
offline validation digits. Training is not needed: every check compares the student's arrays with the reference's
on the same model, and the gradients of an untrained ReLU network still change from image to image. A second seeded
model (RGB 32x32 images, 5 classes) catches code hard-coded to 1x28x28 images or 10 classes.

``gradient_ascent`` is probed with the student's own ``logit_gradient`` (whatever its cell defines): the grader's
runtime holds no correct implementation of any student function (issue 16: it is bound into the sandbox, where a
submission could import it), so a ``logit_gradient`` that is wrong for one image can cost ``gradient_ascent``'s
points as well. A per-sample scale (the batch mean) does not: the ascent normalizes each step.

Points per function (= the ``points`` of its hidden-test cell): 6 each, 12 in all.

Known-correct variants that keep full marks (examples in ``tests/fixtures/gradient_ascent.py``): ``gather`` or ``logits[arange(N),
targets]`` or a one-hot mask, ``torch.autograd.grad`` or ``.backward()`` on a clone followed by
``model.zero_grad(set_to_none=True)``, a loop over the images; in the ascent, calling ``logit_gradient`` or
differentiating inline, probabilities computed inside the loop or after it, in-place or out-of-place clipping,
``F.normalize`` for the step. Known-wrong ones that lose points: the predicted class instead of the target, the
softmax probability or a loss instead of the logit, the sum of all logits, ``logits[:, targets]`` (every target for
every image: pl_bolts' bug), the mean over the batch, shapes hard-coded to 1x28x28, ``.backward()`` leaving weight
gradients, switching on the caller's ``requires_grad``, no input validation; descending, the raw (unnormalized)
gradient, no clipping, ``.grad`` accumulating across steps, logits instead of probabilities, the start image left
out, the caller's image modified.

Feedback figures show the reference's gradient map and final ascent image next to the student's: a picture cannot
be turned into arrays that match to the checks' tolerance, so they give no answer away.
"""
from __future__ import annotations

from ...check import Assignment, Check, Tolerance
from .context import ASCENT_STEP_SIZE, ASCENT_STEPS, BATCH, NUM_CLASSES, PROBABILITY_TOL, Context, make_context  # noqa: F401
from .probes import (  # noqa: F401
    ASCENT,
    ASCENT_ERROR_CASES,
    ASCENT_ERRORS,
    GRADIENT_BATCH,
    GRADIENT_ERROR_CASES,
    GRADIENT_ERRORS,
    GRADIENT_RGB,
    GRADIENT_SINGLE,
)
from .verdicts import (
    _verify_ascent_probabilities,
    _verify_ascent_start,
    _verify_ascent_steps,
    _verify_errors,
    _verify_gradient,
    _verify_params,
    _verify_untouched,
)

ASSIGNMENT_ID = "01_gradient_ascent"
NOTEBOOK = "gradient_ascent.ipynb"
FUNCTIONS = ("logit_gradient", "gradient_ascent")

CHECKS = (
    Check("gradient_batch", GRADIENT_BATCH, 2, "gradients for a batch, one target per image, match the reference",
          _verify_gradient("batch"), Tolerance(rtol=1e-3)),
    Check("gradient_single", GRADIENT_SINGLE, 1, "the gradient for a single image matches the reference",
          _verify_gradient("single"), Tolerance(rtol=1e-3)),
    Check("gradient_any_shape", GRADIENT_RGB, 1, "RGB 32x32 images and 5 classes work too",
          _verify_gradient("rgb"), Tolerance(rtol=1e-3)),
    Check("gradient_errors", GRADIENT_ERRORS, 1, "bad input raises a clear ValueError or TypeError",
          _verify_errors("logit_gradient", GRADIENT_ERROR_CASES), side_effect=True),
    Check("gradient_input_untouched", GRADIENT_BATCH, 0.5, "logit_gradient leaves images as they were",
          _verify_untouched("images", lambda ctx: ctx.X), side_effect=True),
    Check("gradient_params_untouched", GRADIENT_BATCH, 0.5, "logit_gradient leaves no autograd state: no .grad on the weights, "
          "no gradient history on the result",
          _verify_params, side_effect=True),
    Check("ascent_start", ASCENT, 1, "images start with the given image; shapes (steps + 1, ...)",
          _verify_ascent_start, Tolerance(atol=1e-6)),
    Check("ascent_steps", ASCENT, 2, "every normalized, clipped ascent step matches the reference",
          _verify_ascent_steps, Tolerance(rtol=1e-2)),
    Check("ascent_probabilities", ASCENT, 1, "probabilities are the model's softmax for each returned image",
          _verify_ascent_probabilities, Tolerance(atol=PROBABILITY_TOL)),
    Check("ascent_errors", ASCENT_ERRORS, 1, "a bad target or image shape raises ValueError",
          _verify_errors("gradient_ascent", ASCENT_ERROR_CASES), side_effect=True),
    Check("ascent_input_untouched", ASCENT, 0.5, "gradient_ascent leaves image as it was",
          _verify_untouched("image", lambda ctx: ctx.ascent_image), side_effect=True),
    Check("ascent_params_untouched", ASCENT, 0.5, "gradient_ascent leaves no autograd state: no .grad on the weights, "
          "no gradient history on the result",
          _verify_params, side_effect=True),
)

ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
