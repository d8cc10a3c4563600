"""autograder.checks.network_visualization: points, tolerances and the messages students read."""
import json

import numpy as np
import pytest

from autograder.assignments import solution_notebook
from autograder.checks import network_visualization as nv
from autograder.reference import reference_outputs


@pytest.fixture(scope="module")
def reference(assignment):
    return reference_outputs(assignment)


@pytest.fixture(scope="module")
def context():
    return nv.make_context("cpu")


def verdict(name, student, reference, context):
    check = next(c for c in nv.CHECKS if c.name == name)
    return check.verify(student, reference[check.probe.name], context, check.tolerance)


def test_hidden_test_cells_carry_the_points_of_their_checks(assignment):
    """Each hidden-test cell's nbgrader `points` equals the sum of that function's check points here, and it
    calls run_hidden_checks for exactly that function."""
    nb = json.loads(solution_notebook(assignment).read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade")}
    for function in assignment.functions:
        cell = cells[f"test_{function}"]
        assert cell["metadata"]["nbgrader"]["points"] == assignment.points_for(function) == 3
        assert f'run_hidden_checks("{assignment.id}", "{function}", globals())' in "".join(cell["source"])
    assert assignment.max_points == 9


def test_every_check_has_points_a_tolerance_and_a_description(assignment):
    assert {c.function for c in assignment.checks} == set(assignment.functions)
    assert len({c.name for c in assignment.checks}) == len(assignment.checks)
    for check in assignment.checks:
        assert check.points > 0 and check.description and check.tolerance.rtol >= 0 and check.tolerance.atol >= 0


def test_the_reference_passes_every_check(assignment, reference, context):
    for check in assignment.checks:
        result = check.verify(reference[check.probe.name], reference[check.probe.name], context, check.tolerance)
        assert result.passed, (check.name, result.message)


def test_original_image_is_not_already_the_target(context):
    """Otherwise returning X unchanged would pass the fooling checks."""
    assert int(context.scores(context.X[:1].numpy()).argmax()) != context.fooling_target


@pytest.mark.parametrize("transform, hint", [
    (lambda s: s / 4, "sum the correct-class scores"),
    (lambda s: -s, "absolute value"),
    (lambda s: s + 1.0, "correct-class score (logit"),
])
def test_saliency_bugs_get_specific_hints(reference, context, transform, hint):
    student = dict(reference["saliency_batch"])
    student["saliency"] = transform(student["saliency"])
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and hint in result.message and len(result.figures) == 2


def test_mutating_x_fails_even_with_the_right_map(reference, context):
    student = dict(reference["saliency_batch"])
    student["x_after"] = student["x_after"] + 1
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and "modified its input X" in result.message


def test_within_tolerance_passes(reference, context):
    """A GPU-sized rounding difference (1e-5 of the largest value) still passes."""
    student = dict(reference["saliency_batch"])
    student["saliency"] = student["saliency"] * (1 + 1e-5)
    assert verdict("saliency_batch", student, reference, context).passed


def test_fooling_image_that_moved_too_far_fails_closeness_only(reference, context):
    ref = reference["fooling"]
    X = context.X[:1].numpy()
    far = {**ref, "fooling": (X + 5 * (ref["fooling"] - X)).astype(np.float32)}
    if not verdict("fooling_target", far, reference, context).passed:
        pytest.skip("the exaggerated image is no longer the target class for this model")
    result = verdict("fooling_close", far, reference, context)
    assert not result.passed and "learning_rate = 1" in result.message


def test_unchanged_image_fails_both_fooling_checks(reference, context):
    X = context.X[:1].numpy()
    student = {"fooling": X.copy(), "x_after": X.copy()}
    first, second = (verdict(n, student, reference, context) for n in ("fooling_target", "fooling_close"))
    assert not first.passed and "not as the target" in first.message
    assert not second.passed and "not checked" in second.message


@pytest.mark.parametrize("bug, hint", [("descent", "downhill"), ("no_l2", "L2 penalty is missing"),
                                       ("l2_sign", "wrong sign"), ("accumulates", "accumulates"),
                                       ("nothing", "update it in place")])
def test_update_step_bugs_get_specific_hints(reference, context, bug, hint):
    start = context.step_start().numpy()
    ref = reference["update_step"]
    step1, step2 = ref["after_one"] - start, ref["after_two"] - ref["after_one"]
    l2 = 2 * context.step_l2_reg * nv.STEP_LEARNING_RATE
    if bug == "descent":
        one = start - step1
    elif bug == "no_l2":
        one = start + step1 + l2 * start
    elif bug == "l2_sign":
        one = start + step1 + 2 * l2 * start
    else:
        one = start if bug == "nothing" else ref["after_one"]
    two = one + step2 + (step1 if bug == "accumulates" else 0)
    student = {"after_one": one.astype(np.float32), "after_two": two.astype(np.float32)}
    name = "update_step_two" if bug == "accumulates" else "update_step_one"
    result = verdict(name, student, reference, context)
    assert not result.passed and hint in result.message, result.message
    if bug == "accumulates":
        assert verdict("update_step_one", student, reference, context).passed


def test_update_step_probe_weighs_both_terms(reference, context):
    """The probe's l2_reg makes the L2 term's part of the step about half the score's, whatever the model."""
    start = context.step_start().numpy()
    step = reference["update_step"]["after_one"] - start
    l2_part = -2 * context.step_l2_reg * nv.STEP_LEARNING_RATE * start
    ratio = np.linalg.norm(l2_part) / np.linalg.norm(step - l2_part)
    assert 0.4 < ratio < 0.6 and context.step_l2_reg > 0
