"""Checks for notebook 02 (network visualization): saliency maps, fooling images, class-visualization steps.

Every probe uses the offline SqueezeNet 1.1 and the first offline sample images (deterministic on every machine).
Points per function: 3 each, 9 in all; the solution notebook has one hidden-test cell per check, whose nbgrader
``points`` are that check's (so nbgrader and the fast grader give the same points for every submission).

How each function is judged (each check's docstring lists the known-correct variants that keep full marks and the
known-wrong ones that lose points; ``VARIANTS`` holds an example submission of each):

- ``compute_saliency_maps``: the maps of a batch of 4 and of a single image are compared with the reference by
  relative L2 error; leaving the caller's ``X`` modified or with ``requires_grad`` on is a separate, small
  side-effect check.
- ``make_fooling_image``: three (image, target) cases, two fooled after 2 steps, one after 14. The probe's model is
  a trusted wrapper that records every distinct image it is called with. The *returned* images prove what they
  can: classified as the target, and on the path normalized gradient ascent takes (within 15% of the reference's
  last image, or of one step beyond it). The recordings run in the student's process and are student-controlled:
  they are only evidence that lowers a score (a step that is not ``learning_rate * g / ||g||_2`` of the raw target
  score, an image the model already classified as the target before the one returned), never a reason to pass.
- ``class_visualization_update_step``: the first call's step is compared with the reference step; the second
  call's step with the correct step computed (trusted) at the image the student's first call left, so a wrong
  first step is not blamed twice for the same reason and accumulation is told apart.

Every verdict treats NaN or inf anywhere (the student's arrays, the trusted model's scores or gradients on them) as
a failure, and a tensor of another dtype than the input's, or a tensor subclass, as unusable.

Feedback pictures never give the answer away: no reference image is shown (a reference fooling image decoded from
its PNG would pass the fooling checks), only unsigned heat maps (the saliency map; the size of a change, maximum over
the colour channels), and the feedback page draws their reference side as a coarse view (``images.coarse``; no
figure here sets ``reference_safe``). A saliency map is checked at full resolution within 2%, a fooling image or a
step by its signed per-channel values, so none of these pictures can be turned back into a passing answer
(``test_checks_network_visualization`` checks it for the saliency maps and the fooling change maps).
"""
from __future__ import annotations

from ...check import Assignment, Check, Tolerance
from .context import (  # noqa: F401
                      FOOLING_CASES,
                      FOOLING_LEARNING_RATE,
                      FOOLING_PATH_TOLERANCE,
                      FOOLING_TIE,
                      SALIENCY_BATCH,
                      SALIENCY_SINGLE,
                      STEP_LEARNING_RATE,
                      Context,
                      make_context,
)
from .probes import FOOLING_PROBE, SALIENCY_BATCH_PROBE, SALIENCY_SINGLE_PROBE, STEP_PROBE
from .verdicts_class_visualization_update_step import CHECK_TOLERANCES, _verify_step_one, _verify_step_two
from .verdicts_compute_saliency_maps import _verify_saliency, _verify_saliency_input
from .verdicts_make_fooling_image import _verify_first, _verify_fooled, _verify_fooling_input, _verify_steps

ASSIGNMENT_ID = "02_network_visualization"
NOTEBOOK = "network_visualization.ipynb"
FUNCTIONS = ("compute_saliency_maps", "make_fooling_image", "class_visualization_update_step")

CHECKS = (
    Check("saliency_batch", SALIENCY_BATCH_PROBE, 1.5, "saliency maps of a batch of 4 images match the reference",
          _verify_saliency(SALIENCY_BATCH), Tolerance(rtol=2e-2)),
    Check("saliency_single", SALIENCY_SINGLE_PROBE, 1.0, "the saliency map of a single image matches the reference",
          _verify_saliency(SALIENCY_SINGLE), Tolerance(rtol=2e-2)),
    Check("saliency_input_untouched", SALIENCY_BATCH_PROBE, 0.5,
          "the caller's X is left unchanged, without requires_grad", _verify_saliency_input, side_effect=True),
    Check("fooling_target", FOOLING_PROBE, 1.0, "each fooling image is classified as its target class",
          _verify_fooled, Tolerance(atol=FOOLING_TIE)),
    Check("fooling_steps", FOOLING_PROBE, 1.0,
          "every step is learning_rate * g / ||g|| on the raw target score", _verify_steps,
          Tolerance(rtol=FOOLING_PATH_TOLERANCE)),
    Check("fooling_first", FOOLING_PROBE, 0.75, "the first image classified as the target is returned",
          _verify_first, Tolerance(rtol=FOOLING_PATH_TOLERANCE)),
    Check("fooling_input_untouched", FOOLING_PROBE, 0.25, "the caller's X is left unchanged, without requires_grad",
          _verify_fooling_input, side_effect=True),
    Check("update_step_one", STEP_PROBE, 2, "one update step matches the reference step",
          _verify_step_one, CHECK_TOLERANCES["update_step_one"]),
    Check("update_step_two", STEP_PROBE, 1, "a second call takes a fresh step (nothing accumulates)",
          _verify_step_two, Tolerance(rtol=1e-2)),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
