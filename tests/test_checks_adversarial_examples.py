"""autograder.checks.adversarial_examples: the assumptions the probes rest on, the verdicts on known-correct and
known-wrong outputs, and the messages students read. (Whole example submissions, hostile ones included, are graded
by the registry-wide tests in tests/autograder/.)"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.assignments import solution_notebook
from autograder.course import hidden_cell_source
from autograder.checks import _kit
from autograder.checks import adversarial_examples as ae
from autograder.sandbox.runner import run_probe
from course import solution_namespace
from fixtures.adversarial_examples import check_demo

ASSIGNMENT = ae.ASSIGNMENT
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def context():
    return ae.make_context("cpu")


@pytest.fixture(scope="module")
def solution():
    return solution_namespace(ASSIGNMENT)


@pytest.fixture(scope="module")
def reference(solution, context):
    """The probes' outputs for the solution, computed here (the grader computes the same in a trusted process)."""
    out = {}
    for probe in ASSIGNMENT.probes:
        outcome = run_probe(probe, solution, context)
        assert outcome.error is None, outcome.error
        out[probe.name] = outcome.outputs
    return out


def verdict(name, student, reference, context):
    check = next(c for c in ASSIGNMENT.checks if c.name == name)
    return check.verify(student, reference[check.probe.name], context, check.tolerance)


def with_(reference, probe, **changes):
    return {**reference[probe], **changes}


# ------------------------------------------------------------------------------------------------ structure

def test_points_and_hidden_cells():
    """25 points; one hidden cell per check in the solution notebook, carrying that check's points."""
    assert ASSIGNMENT.max_points == 25 and len({c.name for c in ASSIGNMENT.checks}) == len(ASSIGNMENT.checks)
    nb = json.loads(solution_notebook(ASSIGNMENT).read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade")}
    for check in ASSIGNMENT.checks:
        cell = cells[f"test_{check.name}"]
        assert cell["metadata"]["nbgrader"]["points"] == check.points
        assert "".join(cell["source"]) == hidden_cell_source(ASSIGNMENT, check)
    assert len(cells) == len(ASSIGNMENT.checks)


def test_the_reference_passes_every_check(reference, context):
    for check in ASSIGNMENT.checks:
        result = check.verify(reference[check.probe.name], reference[check.probe.name], context, check.tolerance)
        assert result.passed, (check.name, result.message)


# ------------------------------------------------------------------------------- assumptions of the probes

def test_targeted_probe_targets_are_reached_with_a_wide_margin(reference, context):
    """Otherwise a correct variant could miss a target by float noise."""
    _, targets = context.targeted_inputs()
    p = context.probabilities(reference["targeted"]["adversarial"])
    assert (p[np.arange(len(targets)), targets.numpy()] > 0.99).all()


def test_start_images_of_the_probes_are_not_already_the_target(context):
    images, targets = context.targeted_inputs()
    p = context.probabilities(images.numpy())
    assert (p.argmax(1) != targets.numpy()).all()


def test_clamp_and_projection_never_act_where_only_the_steps_are_judged(reference, context):
    """trick's and the two-step probe's images stay strictly inside (0, 1), and two steps stay inside the ball,
    so a missing clamp or projection is judged by its own check only."""
    for image in (reference["trick"]["image"], reference["targeted_short"]["adversarial"]):
        assert image.min() > 0.05 and image.max() < 0.95
    short, _ = context.short_inputs()
    assert np.abs(reference["targeted_short"]["adversarial"] - short.numpy()).max() < ae.TARGETED_EPS - 1e-3


def test_clamps_act_where_the_range_is_judged(reference, context):
    """Without a clamp, the FGSM, targeted, linear and black-image trick probes leave [0, 1]."""
    x = context.X[ae.FGSM_IMAGES].numpy()
    assert ((x < ae.FGSM_EPS) | (x > 1 - ae.FGSM_EPS)).mean() > 0.01
    digits = context.digits.numpy()
    assert (digits < ae.LINEAR_EPS).mean() > 0.1
    assert (reference["trick_edge"]["image"] == 0).mean() > 0.1


def test_the_gradient_probe_tells_probability_from_logit_and_log_probability(context, reference):
    x = context.gradient_images().numpy()
    ref = reference["gradient"]["gradient"]
    for objective in ("logit", "log_probability"):
        other = context.gradients(x, ae.GRADIENT_TARGET, objective)
        assert np.linalg.norm(other - ref) / np.linalg.norm(ref) > 0.5, objective


# --------------------------------------------------------------------------------------------- compute_gradient

@pytest.mark.parametrize("objective, hint", [("logit", "gradient of the logit"),
                                             ("log_probability", "log-probability")])
def test_gradient_of_the_wrong_quantity_gets_a_hint(reference, context, objective, hint):
    wrong = context.gradients(context.gradient_images().numpy(), ae.GRADIENT_TARGET, objective).astype(np.float32)
    result = verdict("gradient_values", with_(reference, "gradient", gradient=wrong), reference, context)
    assert not result.passed and hint in result.message


def test_gradient_hints_for_the_batch_mean_and_the_sign(reference, context):
    ref = reference["gradient"]["gradient"]
    mean = verdict("gradient_values", with_(reference, "gradient", gradient=ref / 2), reference, context)
    assert not mean.passed and "SUM" in mean.message
    neg = verdict("gradient_values", with_(reference, "gradient", gradient=-ref), reference, context)
    assert not neg.passed and "wrong sign" in neg.message


def test_accumulating_gradient_fails_only_the_fresh_check(reference, context):
    ref = reference["gradient"]["gradient"]
    student = with_(reference, "gradient", gradient_again=2 * ref)
    assert verdict("gradient_values", student, reference, context).passed
    fresh = verdict("gradient_fresh", student, reference, context)
    assert not fresh.passed and "doubled" in fresh.message


def test_a_wrong_gradient_is_not_blamed_twice(reference, context):
    """A logit gradient returned twice the same: gradient_values fails, gradient_fresh passes."""
    wrong = context.gradients(context.gradient_images().numpy(), ae.GRADIENT_TARGET, "logit").astype(np.float32)
    student = with_(reference, "gradient", gradient=wrong, gradient_again=wrong)
    assert verdict("gradient_fresh", student, reference, context).passed


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e38])
def test_gradient_checks_fail_on_non_finite_or_huge_values(reference, context, value):
    bad = np.full_like(reference["gradient"]["gradient"], value)
    student = with_(reference, "gradient", gradient=bad, gradient_again=bad)
    assert not verdict("gradient_values", student, reference, context).passed
    assert not verdict("gradient_fresh", student, reference, context).passed


def test_side_effect_is_its_own_check(reference, context):
    student = with_(reference, "gradient", x_requires_grad=np.asarray(True))
    assert verdict("gradient_values", student, reference, context).passed
    result = verdict("gradient_side_effects", student, reference, context)
    assert not result.passed and "requires_grad" in result.message


# ---------------------------------------------------------------------------------------------------- trick

def test_trick_descent_and_sign_steps_get_hints(reference, context):
    x = context.trick_images().numpy()
    move = reference["trick"]["image"] - x
    descent = verdict("trick_image", with_(reference, "trick", image=(x - move).astype(np.float32)), reference,
                      context)
    assert not descent.passed and "opposite way" in descent.message
    signs = (x + ae.TRICK_STEP_SIZE * np.sign(move) * 3).astype(np.float32)
    sign = verdict("trick_image", with_(reference, "trick", image=signs), reference, context)
    assert not sign.passed and "not the sign" in sign.message


def test_trick_probabilities_must_include_the_start(reference, context):
    p = reference["trick"]["probabilities"]
    result = verdict("trick_probabilities", with_(reference, "trick", probabilities=p[1:]), reference, context)
    assert not result.passed and "row 0" in result.message
    stale = p.copy()
    stale[-1] = stale[-2]
    result = verdict("trick_probabilities", with_(reference, "trick", probabilities=stale), reference, context)
    assert not result.passed and "last row" in result.message


def test_unclamped_trick_fails_the_range_check_only(reference, context):
    image = reference["trick_edge"]["image"].copy()
    image[0, 0, 0, 0] = -0.02
    result = verdict("trick_valid_pixels", {"image": image, "image_kind": np.asarray(0)}, reference, context)
    assert not result.passed and "outside [0, 1]" in result.message


# ------------------------------------------------------------------------------------------------------ fgsm

def fgsm_output(reference, context, transform):
    x = context.X[ae.FGSM_IMAGES].numpy()
    delta = reference["fgsm"]["adversarial"] - x
    return with_(reference, "fgsm", adversarial=transform(x, delta).astype(np.float32))


def test_fgsm_flipped_sign_gets_the_seed_articles_lesson(reference, context):
    """The seed's confusion: subtracting the signed gradient moves toward the label."""
    student = fgsm_output(reference, context, lambda x, d: np.clip(x - d, 0, 1))
    result = verdict("fgsm_direction", student, reference, context)
    assert not result.passed and "TOWARD its label" in result.message
    assert verdict("fgsm_budget", student, reference, context).passed
    assert verdict("fgsm_valid_pixels", student, reference, context).passed


def test_fgsm_raw_gradient_gets_the_sign_hint(reference, context):
    student = fgsm_output(reference, context, lambda x, d: np.clip(x + 0.01 * d, 0, 1))
    result = verdict("fgsm_direction", student, reference, context)
    assert not result.passed and "SIGN" in result.message


def test_fgsm_huge_perturbation_fails_the_budget(reference, context):
    student = fgsm_output(reference, context, lambda x, d: np.clip(x + 10 * d, 0, 1))
    result = verdict("fgsm_budget", student, reference, context)
    assert not result.passed and "budget" in result.message


def test_unchanged_image_fails_every_output_check(reference, context):
    x = context.X[ae.FGSM_IMAGES].numpy()
    student = with_(reference, "fgsm", adversarial=x.copy())
    for name in ("fgsm_direction", "fgsm_budget", "fgsm_valid_pixels"):
        result = verdict(name, student, reference, context)
        assert not result.passed and "unchanged" in result.message, name
    assert verdict("fgsm_side_effects", student, reference, context).passed


def test_fgsm_direction_ignores_the_clamp(reference, context):
    """An unclamped but otherwise right FGSM keeps the direction points and loses the range point only."""
    def unclamped(image, label, model, eps):
        x = image.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x), label), x)
        return image.detach() + eps * grad.sign()

    student = ae._fgsm_probe(unclamped, context)
    assert verdict("fgsm_direction", student, reference, context).passed
    assert verdict("fgsm_budget", student, reference, context).passed
    assert not verdict("fgsm_valid_pixels", student, reference, context).passed


def test_fgsm_other_dtype_or_subclass_is_unusable(reference, context):
    for kind, text in ((_kit.OTHER_DTYPE, "dtype"), (_kit.SUBCLASS, "subclass")):
        result = verdict("fgsm_direction", with_(reference, "fgsm", adversarial_kind=np.asarray(kind)), reference,
                         context)
        assert not result.passed and text in result.message


def test_feedback_pictures_are_coarse(reference, context):
    """The reference picture is made of 8 x 8 blocks of |change|: it cannot be turned into a signed answer."""
    result = verdict("fgsm_direction", reference["fgsm"], reference, context)
    figure = result.figures[0]
    ref = figure.reference
    assert (ref >= 0).all()
    blocks = ref.reshape(16, 8, 16, 8)
    assert np.allclose(blocks, blocks[:, :1, :, :1])


# -------------------------------------------------------------------------------------------- targeted_attack

def test_targeted_flipped_sign_misses_the_targets(reference, context):
    x, _ = context.targeted_inputs()
    away = np.clip(2 * x.numpy() - reference["targeted"]["adversarial"], 0, 1).astype(np.float32)
    result = verdict("targeted_reaches_target", with_(reference, "targeted", adversarial=away), reference, context)
    assert not result.passed and "TARGET" in result.message


def test_targeted_steps_hint_for_the_flipped_sign(reference, context):
    x, _ = context.short_inputs()
    away = (2 * x.numpy() - reference["targeted_short"]["adversarial"]).astype(np.float32)
    result = verdict("targeted_steps", {"adversarial": away, "adversarial_kind": np.asarray(0)}, reference, context)
    assert not result.passed and "AWAY" in result.message


def test_targeted_missing_projection_fails_the_budget(reference, context):
    x, _ = context.targeted_inputs()
    far = np.clip(x.numpy() + 1.5 * (reference["targeted"]["adversarial"] - x.numpy()), 0, 1).astype(np.float32)
    result = verdict("targeted_budget", with_(reference, "targeted", adversarial=far), reference, context)
    assert not result.passed and "ORIGINAL" in result.message


@pytest.mark.parametrize("missing", ["negative_eps", "pixels_below_0", "pixels_above_1", "target_out_of_range",
                                     "negative_target"])
def test_each_missing_validation_is_named(reference, context, missing):
    student = {**reference["targeted_bad_input"], missing: np.asarray(False)}
    result = verdict("targeted_bad_input", student, reference, context)
    assert not result.passed and ae._BAD_INPUTS[missing] in result.message


def test_bad_input_probe_accepts_only_value_errors(context):
    def raises(error):
        def fn(image, target, model, eps, step_size, num_steps):
            raise error("no")
        return fn

    assert all(bool(v) for k, v in ae._bad_input_probe(raises(ValueError), context).items() if k in ae._BAD_INPUTS)
    assert not any(bool(v) for v in ae._bad_input_probe(raises(IndexError), context).values())


@pytest.mark.parametrize("refused", ["valid_zero_eps", "valid_pixels_0_and_1", "valid_target_0"])
def test_raising_for_valid_edge_input_is_named(reference, context, refused):
    """The stated rules include their ends: eps = 0, pixels of exactly 0 and 1, target 0 must not raise."""
    student = {**reference["targeted_bad_input"], refused: np.asarray(False)}
    result = verdict("targeted_bad_input", student, reference, context)
    assert not result.passed and ae._VALID_EDGES[refused] in result.message


# ------------------------------------------------------------------------------------- fool_linear_classifier

def test_linear_target_only_gets_a_hint(reference, context):
    x = context.digits.numpy()
    w = context.weights.numpy()
    wrong = np.clip(x + ae.LINEAR_EPS * np.sign(w[ae.LINEAR_TARGET]).reshape(1, 1, 28, 28), 0, 1)
    result = verdict("linear_direction", with_(reference, "linear", adversarial=wrong.astype(np.float32)), reference,
                     context)
    assert not result.passed and "sign(w_target) alone" in result.message


def test_linear_reference_is_the_closed_form(reference, context):
    x, y, w = context.digits.numpy(), context.digit_y.numpy(), context.weights.numpy()
    expected = np.clip(x + ae.LINEAR_EPS * np.sign(w[ae.LINEAR_TARGET] - w[y]).reshape(x.shape), 0, 1)
    np.testing.assert_allclose(reference["linear"]["adversarial"], expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------- the demo's promises

#: What the solution notebook printed in an offline quick run (tests/fixtures/printed/; refresh it from an executed
#: solution when the notebook's printed lines change).
DEMO = (Path(__file__).parent / "fixtures" / "printed" / f"{ae.ASSIGNMENT_ID}_quick.txt").read_text()


def test_check_demo_accepts_what_the_notebook_promises():
    check_demo(DEMO)


@pytest.mark.parametrize("old, new", [("10/10 images", "8/10 images"), ("eps = 8/255", "eps = 16/255"),
                                      ("eps=0.2: 30.6%", "eps=0.2: 5.0%"), ("0.972", "0.010"),
                                      ("clean accuracy lost", "lost"), ("difference 1.3e-06", "difference 3e-02"),
                                      ("pixels in [0.06, 0.97]", "pixels in [0.00, 0.97]")])
def test_check_demo_fails_when_a_promise_is_broken(old, new):
    with pytest.raises(AssertionError):
        check_demo(DEMO.replace(old, new))
