"""Checks for notebook 03 (adversarial examples): the gradient of a probability, many small steps, FGSM, a targeted
attack in the eps-ball, and fooling a linear classifier.

Every probe uses the offline SqueezeNet 1.1 wrapped in :class:`hwlib.NormalizedClassifier` with the range check off
(so that a missing clamp costs only the check of the pixel range), the first 10 offline sample images as pixels in
[0, 1], and, for the linear classifier, a seeded random weight matrix and offline digits. Everything is
deterministic on every machine; nothing is stochastic.

How each function is judged (each verify's docstring lists the known-correct variants that keep full marks and the
known-wrong ones that lose points; ``VARIANTS`` holds an example submission of each):

- ``compute_gradient``: the gradient for a batch of two images against the reference (relative L2 error); a second
  call on the same tensor must give the same answer; the caller's tensor is a side-effect check.
- ``trick``: three steps from two images whose pixels lie in [0.1, 0.9] (so the clamp never acts): the
  displacement against the reference; the recorded probabilities' first and last rows against the trusted model's
  probabilities of the start and of the returned image; one step from a black image must stay in [0, 1].
- ``fgsm``: the signed change of every pixel (after clamping the student's image to [0, 1], so a missing clamp is
  judged only by its own check) against the reference; the budget; the pixel range; the caller's tensor.
- ``targeted_attack``: ten steps reach the target (trusted model) on four images the reference turns with a wide
  margin; the first two steps match the reference pixel by pixel; the budget; the pixel range; ``ValueError`` for
  eps < 0, an image outside [0, 1] and a target out of range; the caller's tensor.
- ``fool_linear_classifier``: the signed change of every pixel against the reference; the pixel range; the
  caller's tensor.

Every verdict treats NaN or inf anywhere as a failure; a tensor subclass or another dtype than the input's is
unusable; an attack that returns its input unchanged fails every check that is not a side-effect check. Feedback
pictures show only unsigned change magnitudes (max over channels) of the student's and of the reference's image as
8 x 8-pixel block means, which cannot be turned back into the signed per-pixel change the checks require.
"""
from __future__ import annotations

from ...check import Assignment, Check, Tolerance
from .context import (  # noqa: F401
                      FGSM_EPS,
                      FGSM_IMAGES,
                      GRADIENT_TARGET,
                      LINEAR_EPS,
                      LINEAR_TARGET,
                      TARGETED_EPS,
                      TRICK_STEP_SIZE,
                      Context,
                      make_context,
)
from .probes import (  # noqa: F401
                      BAD_INPUT_PROBE,
                      FGSM_PROBE,
                      GRADIENT_PROBE,
                      LINEAR_PROBE,
                      SHORT_PROBE,
                      TARGETED_PROBE,
                      TRICK_EDGE_PROBE,
                      TRICK_PROBE,
                      _bad_input_probe,
                      _fgsm_probe,
)
from .verdicts_compute_gradient import _verify_gradient, _verify_gradient_fresh, _verify_gradient_input
from .verdicts_fgsm import _verify_fgsm_budget, _verify_fgsm_direction, _verify_fgsm_input, _verify_fgsm_range
from .verdicts_fool_linear_classifier import _verify_linear_direction, _verify_linear_input, _verify_linear_range
from .verdicts_targeted_attack import (  # noqa: F401
                      _BAD_INPUTS,
                      _VALID_EDGES,
                      _verify_targeted_bad_input,
                      _verify_targeted_budget,
                      _verify_targeted_input,
                      _verify_targeted_range,
                      _verify_targeted_reached,
                      _verify_targeted_steps,
)
from .verdicts_trick import _verify_trick_image, _verify_trick_input, _verify_trick_probabilities, _verify_trick_range

ASSIGNMENT_ID = "03_adversarial_examples"
NOTEBOOK = "adversarial_examples.ipynb"
FUNCTIONS = ("compute_gradient", "trick", "fgsm", "targeted_attack", "fool_linear_classifier")

CHECKS = (
    Check("gradient_values", GRADIENT_PROBE, 2, "the gradient of the probability matches the reference",
          _verify_gradient, Tolerance(rtol=1e-2)),
    Check("gradient_fresh", GRADIENT_PROBE, 1, "a second call returns the same gradient (nothing accumulates)",
          _verify_gradient_fresh, Tolerance(rtol=1e-4), needs_work=True),
    Check("gradient_side_effects", GRADIENT_PROBE, 1, "the caller's image is left untouched",
          _verify_gradient_input, side_effect=True),
    Check("trick_image", TRICK_PROBE, 2, "three normalized steps move the image as the reference does",
          _verify_trick_image, Tolerance(rtol=2e-2)),
    Check("trick_probabilities", TRICK_PROBE, 1, "the probabilities are recorded before and after every step",
          _verify_trick_probabilities, Tolerance(atol=1e-4)),
    Check("trick_valid_pixels", TRICK_EDGE_PROBE, 1, "the image stays in [0, 1]", _verify_trick_range, needs_work=True),
    Check("trick_side_effects", TRICK_PROBE, 1, "the caller's image is left untouched", _verify_trick_input,
          side_effect=True),
    Check("fgsm_direction", FGSM_PROBE, 2, "every pixel moves by eps along the sign of the loss gradient",
          _verify_fgsm_direction, Tolerance(rtol=5e-3)),
    Check("fgsm_budget", FGSM_PROBE, 1, "no pixel changes by more than eps", _verify_fgsm_budget, needs_work=True),
    Check("fgsm_valid_pixels", FGSM_PROBE, 1, "the adversarial image stays in [0, 1]",
          _verify_fgsm_range, needs_work=True),
    Check("fgsm_side_effects", FGSM_PROBE, 1, "the caller's image is left untouched", _verify_fgsm_input,
          side_effect=True),
    Check("targeted_reaches_target", TARGETED_PROBE, 2, "ten steps make the model see the target",
          _verify_targeted_reached, Tolerance(atol=1e-3)),
    Check("targeted_steps", SHORT_PROBE, 1, "the first two steps match the reference pixel by pixel",
          _verify_targeted_steps, Tolerance(rtol=1e-2)),
    Check("targeted_budget", TARGETED_PROBE, 1, "the result stays within eps of the image",
          _verify_targeted_budget, needs_work=True),
    Check("targeted_valid_pixels", TARGETED_PROBE, 1, "the result stays in [0, 1]",
          _verify_targeted_range, needs_work=True),
    Check("targeted_bad_input", BAD_INPUT_PROBE, 1, "ValueError for eps < 0, pixels outside [0, 1], a bad target",
          _verify_targeted_bad_input, side_effect=True),
    Check("targeted_side_effects", TARGETED_PROBE, 1, "the caller's image is left untouched", _verify_targeted_input,
          side_effect=True),
    Check("linear_direction", LINEAR_PROBE, 2, "every pixel moves by eps along sign(w_target - w_label)",
          _verify_linear_direction, Tolerance(rtol=1e-3)),
    Check("linear_valid_pixels", LINEAR_PROBE, 1, "the result stays in [0, 1]", _verify_linear_range, needs_work=True),
    Check("linear_side_effects", LINEAR_PROBE, 1, "the caller's image is left untouched", _verify_linear_input,
          side_effect=True),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
