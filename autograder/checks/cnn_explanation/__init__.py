"""Checks for notebook 04 (explaining a CNN, ML2021 HW9): saliency maps, SmoothGrad, filter explanation, integrated
gradients and the quiz.

The model, the inputs and the constants are in :mod:`.context`, the probes in :mod:`.probes`, the verdicts in
``verdicts_<function>.py`` (shared helpers in :mod:`.verdicts`); the example bodies are test fixtures
(``tests/fixtures/cnn_explanation.py``). Stochastic functions are checked by limit cases and statistics, never
against one random draw. Points: saliency 3.5, SmoothGrad 4, filter explanation 6, integrated gradients 4, quiz
22 x 0.5 = 11.
"""
from __future__ import annotations

from ...check import Assignment, Check, Tolerance
from ..quiz import quiz_checks
from .context import (  # noqa: F401
    FILTER_BN_LAYER,
    FILTER_IMAGES,
    FILTER_LAYER,
    FILTER_OTHER_IMAGES,
    FILTER_SEED,
    IG_COMPLETE_IMAGE,
    IG_COMPLETE_RTOL,
    IG_IMAGE,
    QUESTIONS,
    SALIENCY_IMAGES,
    SMOOTH_SPY_MULTIPLIER,
    SMOOTH_ZERO_IMAGE,
    Context,
    make_context,
)
from .probes import (  # noqa: F401
    FILTER_BN_PROBE,
    FILTER_PROBE,
    IG_COMPLETE_PROBE,
    IG_PROBE,
    SALIENCY_PROBE,
    SMOOTH_STATS_PROBE,
    SMOOTH_ZERO_PROBE,
    _smooth_spy_probe,
)
from .verdicts import _verify_untouched
from .verdicts_compute_saliency_maps import _verify_saliency, _verify_saliency_normalized
from .verdicts_filter_explanation import _verify_activations, _verify_from_noise, _verify_hooks, _verify_raises
from .verdicts_integrated_gradients import _verify_completeness, _verify_ig
from .verdicts_smooth_grad import _verify_smooth_stats, _verify_smooth_zero

ASSIGNMENT_ID = "04_cnn_explanation"
NOTEBOOK = "cnn_explanation.ipynb"
FUNCTIONS = ("compute_saliency_maps", "smooth_grad", "filter_explanation", "IntegratedGradients", "ANSWERS")

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
