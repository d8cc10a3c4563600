"""autograder.checks.network_visualization: points, probes, the verdicts on known-correct and known-wrong code, and
the messages students read."""
import copy
import json

import numpy as np
import pytest
import torch

from autograder import images
from autograder.arrays import norm_relative_error
from autograder.assignments import solution_notebook
from fixtures import examples_dir
from autograder.checks import _kit
from autograder.checks import network_visualization as nv
from fixtures import network_visualization as nv_fixtures
from autograder.extract import Cell
from autograder.reference import reference_outputs
from autograder.sandbox.runner import exec_cell, new_namespace

ASSIGNMENT = nv.ASSIGNMENT
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def reference():
    return reference_outputs(ASSIGNMENT)


@pytest.fixture(scope="module")
def context():
    return nv.make_context("cpu")


def check(name):
    return next(c for c in nv.CHECKS if c.name == name)


def verdict(name, student, reference, context):
    c = check(name)
    return c.verify(student, reference[c.probe.name], context, c.tolerance)


def example_function(example, function):
    """``function`` as defined by the solution cells of an example submission (run in this process)."""
    nb = json.loads((examples_dir(ASSIGNMENT) / f"{example}.ipynb").read_text())
    namespace = new_namespace()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") == function:
            assert exec_cell(Cell(function, "".join(cell["source"]), 0), namespace) is None
    return namespace[function]


def hidden_cells():
    nb = json.loads(solution_notebook(ASSIGNMENT).read_text())
    return [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]


# ------------------------------------------------------------------------------------------------ points and cells

def test_one_hidden_cell_per_check_carrying_its_points():
    """nbgrader scores a cell all or nothing, so each check has its own hidden cell with the check's points: then
    nbgrader gives every submission the fast grader's points. 3 points per function, 9 in all."""
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in hidden_cells()}
    assert sorted(cells) == sorted(f"test_{c.name}" for c in nv.CHECKS)
    for c in nv.CHECKS:
        cell = cells[f"test_{c.name}"]
        assert cell["metadata"]["nbgrader"]["points"] == c.points
        assert (f'run_hidden_checks("{ASSIGNMENT.id}", "{c.function}", globals(), checks=("{c.name}",))'
                in "".join(cell["source"]))
    assert all(ASSIGNMENT.points_for(f) == 3 for f in nv.FUNCTIONS) and ASSIGNMENT.max_points == 9


def test_every_check_has_points_a_tolerance_and_a_description():
    assert {c.function for c in nv.CHECKS} == set(nv.FUNCTIONS)
    assert len({c.name for c in nv.CHECKS}) == len(nv.CHECKS)
    for c in nv.CHECKS:
        assert c.points > 0 and c.description and c.tolerance.rtol >= 0 and c.tolerance.atol >= 0
        assert "Known correct" in c.verify.__doc__ and "Known wrong" in c.verify.__doc__, c.name


def test_side_effects_are_small_separate_checks():
    """A side effect never zeroes a correct result: it is its own check, worth at most a quarter of its function."""
    side = [c for c in nv.CHECKS if c.side_effect]
    assert {c.name for c in side} == {"saliency_input_untouched", "fooling_input_untouched"}
    for c in side:
        assert c.points <= ASSIGNMENT.points_for(c.function) / 4


def test_every_variant_names_checks_that_exist():
    names = {c.name for c in nv.CHECKS}
    for name, variant in nv_fixtures.VARIANTS.items():
        assert set(variant.loses) <= names and variant.note, name
        assert set(variant.bodies) <= set(nv.FUNCTIONS), name


def test_the_reference_passes_every_check(reference, context):
    for c in nv.CHECKS:
        result = c.verify(reference[c.probe.name], reference[c.probe.name], context, c.tolerance)
        assert result.passed, (c.name, result.message)


# ---------------------------------------------------------------------------------------------------- saliency

def captum_gradients(context, index):
    """Per-channel input gradients of the correct-class scores by Captum (an independent implementation)."""
    from captum.attr import Saliency

    X = context.X[index].clone().requires_grad_(True)
    model = copy.deepcopy(context.base_model).eval()
    return Saliency(model).attribute(X, target=context.y[index], abs=False).detach().numpy()


def test_reference_saliency_equals_captum(reference, context):
    """(Relative L2 error: a rounding difference flips single max-pool ties.)"""
    g = captum_gradients(context, nv.SALIENCY_BATCH)
    assert norm_relative_error(reference["saliency_batch"]["saliency"], np.abs(g).max(1)) < 1e-2


@pytest.mark.parametrize("mistake, hint", [
    (lambda s, g: s / 4, "divided by the batch size"),
    (lambda s, g: -s, "absolute value"),
    (lambda s, g: s + 1.0, "correct-class score (logit"),
    (lambda s, g: np.abs(g).sum(1), "sum of |gradient| over the 3 colour channels"),
    (lambda s, g: np.abs(g).mean(1), "mean of |gradient|"),
    (lambda s, g: np.abs(g.max(1)), "take the absolute value first"),
    (lambda s, g: np.abs(g[:, 0]), "channel 0 only"),
    (lambda s, g: np.zeros_like(s), "all zeros"),
])
def test_a_wrong_map_is_told_what_is_wrong_with_it(reference, context, mistake, hint):
    """The message names the map's mistake (the candidate maps come from Captum's gradients here), even when the
    function also switched on the caller's requires_grad: the side effect has its own check."""
    g = captum_gradients(context, nv.SALIENCY_BATCH)
    student = dict(reference["saliency_batch"], x_requires_grad=np.asarray(True))
    student["saliency"] = mistake(student["saliency"], g).astype(np.float32)
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and hint in result.message and "requires_grad" not in result.message, result.message
    assert len(result.figures) == 2


def test_a_loss_instead_of_the_score_is_named(reference, context):
    X = context.X[nv.SALIENCY_BATCH].clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(context.base_model(X), context.y[nv.SALIENCY_BATCH], reduction="sum")
    (g,) = torch.autograd.grad(loss, X)
    student = dict(reference["saliency_batch"], saliency=g.abs().amax(1).numpy())
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and "cross-entropy loss" in result.message


def test_requires_grad_on_the_callers_x_costs_only_the_side_effect_check(reference, context):
    student = dict(reference["saliency_batch"], x_requires_grad=np.asarray(True))
    assert verdict("saliency_batch", student, reference, context).passed
    result = verdict("saliency_input_untouched", student, reference, context)
    assert not result.passed and "switched on X.requires_grad" in result.message


def test_mutating_x_costs_only_the_side_effect_check(reference, context):
    student = dict(reference["saliency_batch"])
    student["x_after"] = student["x_after"] + 1
    assert verdict("saliency_batch", student, reference, context).passed
    result = verdict("saliency_input_untouched", student, reference, context)
    assert not result.passed and "modified its input X" in result.message


@pytest.mark.parametrize("kind, says", [(_kit.SUBCLASS, "plain torch.Tensor"), (_kit.OTHER_DTYPE, "dtype")])
def test_a_subclass_or_another_dtype_is_unusable(reference, context, kind, says):
    student = dict(reference["saliency_batch"], saliency_kind=np.asarray(kind))
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and says in result.message


def test_channels_not_reduced_gets_a_hint(reference, context):
    s = reference["saliency_batch"]["saliency"]
    student = dict(reference["saliency_batch"], saliency=np.repeat(s[:, None], 3, axis=1))
    result = verdict("saliency_batch", student, reference, context)
    assert not result.passed and "maximum of |gradient| over the colour channels" in result.message


def test_within_tolerance_passes(reference, context):
    """A GPU-sized rounding difference (1e-5 of the largest value) still passes."""
    student = dict(reference["saliency_batch"])
    student["saliency"] = student["saliency"] * (1 + 1e-5)
    assert verdict("saliency_batch", student, reference, context).passed


def test_the_feedbacks_coarse_reference_map_cannot_pass(reference, context):
    """The feedback page shows the reference map only as images.coarse: copied back, it fails the check."""
    student = dict(reference["saliency_batch"])
    student["saliency"] = np.stack([images.coarse(m) for m in student["saliency"]]).astype(np.float32)
    assert not verdict("saliency_batch", student, reference, context).passed
    assert all(not f.reference_safe for f in verdict("saliency_batch", reference["saliency_batch"], reference,
                                                      context).figures)


# ----------------------------------------------------------------------------------------------- fooling images

def fooling_student(reference, **changes):
    """The reference's fooling outputs with some replaced (``fooling_0`` ... arrays, ``inputs_0`` ...)."""
    student = dict(reference["fooling"])
    student.update(changes)
    return student


def float64_path(context, case):
    """The normalized-ascent path of ``case`` in float64 (independent of the solution): the images, and each one's
    target margin."""
    i, target = nv.FOOLING_CASES[case]
    model = copy.deepcopy(context.base_model).double().eval()
    x = context.X[i:i + 1].double()
    path, margins = [x], []
    for _ in range(100):
        x = x.detach().requires_grad_(True)
        scores = model(x)
        s = scores.detach()[0]
        margins.append(float(s[target] - torch.cat([s[:target], s[target + 1:]]).max()))
        if margins[-1] > 0:
            break
        (g,) = torch.autograd.grad(scores[0, target], x)
        x = (x + nv.FOOLING_LEARNING_RATE * g / g.norm()).detach()
        path.append(x)
    return path, margins


@pytest.fixture(scope="module")
def float64_paths(context):
    return [float64_path(context, k) for k in range(len(nv.FOOLING_CASES))]


@pytest.mark.parametrize("case", range(len(nv.FOOLING_CASES)))
def test_fooling_cases_are_stable_with_clear_margins(reference, float64_paths, case):
    """For the shipped model: the float64 path ends where the float32 reference does (so a rounding that flips a
    ReLU tie cannot move a correct image out of tolerance), every decision on it has a clear margin, and the image
    one step past the end is far from the end compared with that difference."""
    path, margins = float64_paths[case]
    last = reference["fooling"][f"fooling_{case}"].astype(np.float64)
    moved = np.linalg.norm(last - path[0].numpy())
    assert np.linalg.norm(path[-1].numpy() - last) / moved < 1e-2
    assert max(margins[:-1]) < -0.5 and margins[-1] > 0.5, margins
    assert nv.FOOLING_LEARNING_RATE / moved > 0.05


def test_fooling_cases_need_few_and_many_steps(float64_paths):
    """Short paths show one step too many; a long one shows accumulated gradients and wrong directions."""
    steps = [len(path) - 1 for path, _ in float64_paths]
    assert min(steps) <= 2 and max(steps) >= 10, steps


def test_the_reference_recordings_are_its_path(reference):
    """The probe's recording model saw every image the solution stepped through, the returned one last."""
    for k in range(len(nv.FOOLING_CASES)):
        recorded = reference["fooling"][f"inputs_{k}"]
        assert len(recorded) >= 2 and np.array_equal(recorded[-1], reference["fooling"][f"fooling_{k}"][0])
        steps = np.linalg.norm((recorded[1:] - recorded[:-1]).reshape(len(recorded) - 1, -1), axis=1)
        assert np.allclose(steps, nv.FOOLING_LEARNING_RATE, rtol=1e-3)


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e38])
def test_non_finite_or_absurd_images_fail_every_fooling_check(reference, context, value):
    """Issue 7: an image scaled to 1e38 is finite, but the model's scores on it are NaN; that must not count as
    fooled."""
    bad = {f"fooling_{k}": np.full_like(reference["fooling"][f"fooling_{k}"], value)
           for k in range(len(nv.FOOLING_CASES))}
    student = fooling_student(reference, **bad)
    for name in ("fooling_target", "fooling_steps", "fooling_first"):
        result = verdict(name, student, reference, context)
        assert not result.passed and any(w in result.message for w in ("not finite", "NaN", "far outside")), \
            result.message


def test_unchanged_image_fails_all_but_the_side_effect(reference, context):
    X = {f"fooling_{k}": context.X[i:i + 1].numpy() for k, (i, _) in enumerate(nv.FOOLING_CASES)}
    student = fooling_student(reference, **X)
    assert "not as the target" in verdict("fooling_target", student, reference, context).message
    assert "100%" in verdict("fooling_steps", student, reference, context).message
    assert "not checked" in verdict("fooling_first", student, reference, context).message
    assert verdict("fooling_input_untouched", student, reference, context).passed


def one_step_past(reference, context):
    """Each reference image moved one more normalized step (computed here)."""
    out = {}
    for k, (_, target) in enumerate(nv.FOOLING_CASES):
        x = torch.from_numpy(reference["fooling"][f"fooling_{k}"]).requires_grad_(True)
        (g,) = torch.autograd.grad(context.base_model(x)[0, target], x)
        out[f"fooling_{k}"] = (x + g / g.norm()).detach().numpy()
    return out


@pytest.mark.parametrize("recordings", ["kept", "hidden"])
def test_one_step_past_fails_first_only_with_or_without_recordings(reference, context, recordings):
    """The recordings show the earlier fooled image; without them the returned image alone still shows it."""
    student = fooling_student(reference, **one_step_past(reference, context))
    if recordings == "hidden":
        student.update({f"inputs_{k}": reference["fooling"][f"inputs_{k}"][:0] for k in range(len(nv.FOOLING_CASES))})
    assert verdict("fooling_target", student, reference, context).passed
    assert verdict("fooling_steps", student, reference, context).passed
    result = verdict("fooling_first", student, reference, context)
    assert not result.passed
    assert ("already classified an earlier image" if recordings == "kept" else "one step past") in result.message


def test_recordings_can_lower_but_never_raise(reference, context):
    """Forged recordings of the reference path do not make an unchanged image pass; recordings that show a wrong
    step fail a correct-looking image."""
    X = {f"fooling_{k}": context.X[i:i + 1].numpy() for k, (i, _) in enumerate(nv.FOOLING_CASES)}
    forged = fooling_student(reference, **X)
    assert not any(verdict(n, forged, reference, context).passed
                   for n in ("fooling_target", "fooling_steps", "fooling_first"))
    recorded = reference["fooling"]["inputs_1"].copy()
    recorded[1:] = recorded[:1] + 0.5 * (recorded[1:] - recorded[:1])       # steps of half the length
    halved = fooling_student(reference, inputs_1=recorded)
    result = verdict("fooling_steps", halved, reference, context)
    assert not result.passed and "case 2 of 3" in result.message and "length" in result.message
    assert verdict("fooling_target", halved, reference, context).passed


def test_a_half_precision_or_subclass_image_is_unusable(reference, context):
    for kind, says in ((_kit.OTHER_DTYPE, "dtype"), (_kit.SUBCLASS, "plain torch.Tensor")):
        student = fooling_student(reference, fooling_0_kind=np.asarray(kind))
        for name in ("fooling_target", "fooling_steps", "fooling_first"):
            result = verdict(name, student, reference, context)
            assert not result.passed and says in result.message


def test_the_feedbacks_reference_picture_of_a_fooling_image_cannot_pass(reference, context):
    """Issue 7: the page embedded the reference fooling image (which passed). Now only the change's size, max over
    channels, is shown, coarsely: even with the signs of the original gradient, it does not pass."""
    figures = verdict("fooling_steps", reference["fooling"], reference, context).figures
    assert figures and all(f.kind == "heatmap" and not f.reference_safe for f in figures)
    guesses = {}
    for k, (i, target) in enumerate(nv.FOOLING_CASES):
        x = context.X[i:i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(context.base_model(x)[0, target], x)
        change = images.coarse(np.abs(reference["fooling"][f"fooling_{k}"] - x.detach().numpy())[0].max(0))
        guesses[f"fooling_{k}"] = (x.detach() + torch.sign(g) * torch.from_numpy(change)).numpy().astype(np.float32)
    student = fooling_student(reference, **guesses)
    assert not verdict("fooling_steps", student, reference, context).passed


def test_modifying_x_costs_only_the_side_effect_check(reference, context):
    student = fooling_student(reference, x_after_1=reference["fooling"]["fooling_1"])
    result = verdict("fooling_input_untouched", student, reference, context)
    assert not result.passed and "case 2 of 3" in result.message and "modified its input X" in result.message
    assert all(verdict(n, student, reference, context).passed
               for n in ("fooling_target", "fooling_steps", "fooling_first"))


FOOLING_MESSAGES = {
    "fooling_norm_squared": "||g||^2",
    "fooling_grad_accumulates": "accumulates",
    "fooling_zero_without_call": "accumulates",
    "fooling_cross_entropy": "cross-entropy",
    "fooling_softmax": "cross-entropy loss (or the softmax probability)",
    "fooling_one_step_past": "already classified an earlier image",
    "fooling_modifies_x": "modified its input X",
}


@pytest.mark.parametrize("name", sorted(FOOLING_MESSAGES) + ["fooling_check_after_step", "fooling_sqrt_sum_cs231n"])
def test_fooling_variants_lose_exactly_their_checks_with_the_right_message(reference, context, name):
    """Each fooling variant's own code, run in this process on the probe: the known-wrong ones fail exactly the
    checks they name, with a message naming their mistake; the two correct ones that take other paths through the
    recordings (a check after each step; CS231n's .data updates with sqrt(sum(g*g))) pass every check (all the
    variants are also graded as examples: test_grading_examples)."""
    variant = nv_fixtures.VARIANTS[name]
    outputs = nv.FOOLING_PROBE.run(example_function(f"variant_{name}", "make_fooling_image"), context)
    for c in ASSIGNMENT.checks_for("make_fooling_image"):
        result = c.verify(outputs, reference["fooling"], context, c.tolerance)
        assert result.passed == (c.name not in variant.loses), (name, c.name, result.message)
        if not result.passed:
            assert FOOLING_MESSAGES[name] in result.message, (name, result.message)


# ------------------------------------------------------------------------------------------ class visualization

def step_student(one, two):
    return {"after_one": one.astype(np.float32), "after_two": two.astype(np.float32)}


@pytest.mark.parametrize("bug, hint", [("descent", "downhill"), ("no_l2", "L2 penalty is missing"),
                                       ("l2_sign", "wrong sign"), ("nothing", "update it in place"),
                                       ("normalized", "raw (unnormalized) gradient")])
def test_update_step_bugs_get_specific_hints_and_the_second_step_never_claims_the_first_is_right(
        reference, context, bug, hint):
    start = context.step_start().numpy().astype(np.float64)
    ref = reference["update_step"]
    step1 = ref["after_one"] - start
    l2 = 2 * context.step_l2_reg * nv.STEP_LEARNING_RATE

    def wrong_step(at, correct):
        return {"descent": -correct, "no_l2": correct + l2 * at, "l2_sign": correct + 2 * l2 * at,
                "nothing": 0 * correct, "normalized": correct / np.linalg.norm(correct)}[bug]
    one = start + wrong_step(start, step1)
    two = one + wrong_step(one, context.class_step(one.astype(np.float32)))
    student = step_student(one, two)
    first, second = (verdict(n, student, reference, context) for n in ("update_step_one", "update_step_two"))
    assert not first.passed and hint in first.message, first.message
    assert not second.passed and hint in second.message and "wrong as well" in second.message, second.message
    assert "first step is right" not in second.message


def test_accumulating_grad_fails_the_second_step_only(reference, context):
    one = reference["update_step"]["after_one"].astype(np.float64)
    start = context.step_start().numpy()
    two = one + context.class_step(one.astype(np.float32)) + (one - start)
    student = step_student(one, two)
    assert verdict("update_step_one", student, reference, context).passed
    result = verdict("update_step_two", student, reference, context)
    assert not result.passed and "first step is right" in result.message and "accumulates" in result.message


def test_second_step_is_judged_at_the_students_own_image(reference, context):
    """A first step of twice the length followed by a correct step from there: only the first check fails."""
    start = context.step_start().numpy().astype(np.float64)
    one = start + 2 * (reference["update_step"]["after_one"] - start)
    two = one + context.class_step(one.astype(np.float32))
    student = step_student(one, two)
    assert not verdict("update_step_one", student, reference, context).passed
    assert verdict("update_step_two", student, reference, context).passed


@pytest.mark.parametrize("value", [np.nan, 1e38])
def test_non_finite_or_absurd_steps_fail(reference, context, value):
    one = np.full_like(reference["update_step"]["after_one"], value)
    student = step_student(one, one)
    for name in ("update_step_one", "update_step_two"):
        assert not verdict(name, student, reference, context).passed
    if value == 1e38:
        assert "far too large" in verdict("update_step_one", student, reference, context).message


def test_a_half_precision_img_is_unusable(reference, context):
    student = dict(reference["update_step"], after_one_kind=np.asarray(_kit.OTHER_DTYPE))
    for name in ("update_step_one", "update_step_two"):
        result = verdict(name, student, reference, context)
        assert not result.passed and "dtype" in result.message


def test_update_step_probe_weighs_both_terms(reference, context):
    """The probe's l2_reg makes the L2 term's part of the step about half the score's, whatever the model."""
    start = context.step_start().numpy()
    step = reference["update_step"]["after_one"] - start
    l2_part = -2 * context.step_l2_reg * nv.STEP_LEARNING_RATE * start
    ratio = np.linalg.norm(l2_part) / np.linalg.norm(step - l2_part)
    assert 0.4 < ratio < 0.6 and context.step_l2_reg > 0


class Liar(torch.Tensor):
    """A tensor subclass that claims to equal anything."""

    def __eq__(self, other):
        return True


@pytest.mark.parametrize("attack", ["half", "subclass"])
def test_probes_catch_half_precision_and_tensor_subclasses(reference, context, attack):
    """The correct answer returned in half precision, or as a lying tensor subclass, fails every check that is not
    a side-effect check (the probe reports it; the checks name it)."""
    def spoil(t):
        return t.detach().half() if attack == "half" else t.detach().as_subclass(Liar)

    saliency = example_function("perfect", "compute_saliency_maps")
    fooling = example_function("perfect", "make_fooling_image")
    step = example_function("perfect", "class_visualization_update_step")

    def spoiled_step(img, *args):
        step(img, *args)
        if attack == "half":
            img.data = img.data.half()

    runs = {"compute_saliency_maps": lambda X, y, m: spoil(saliency(X, y, m)),
            "make_fooling_image": lambda X, t, m: spoil(fooling(X, t, m))}
    if attack == "half":
        runs["class_visualization_update_step"] = spoiled_step
    for function, fn in runs.items():
        for probe in {c.probe.name: c.probe for c in ASSIGNMENT.checks_for(function)}.values():
            try:
                outputs = probe.run(fn, context)
            except RuntimeError as err:     # a half img cannot go through the float model again: a failed probe
                assert function == "class_visualization_update_step" and "Half" in str(err)
                continue
            for c in ASSIGNMENT.checks_for(function):
                if c.probe.name == probe.name and not c.side_effect:
                    result = c.verify(outputs, reference[probe.name], context, c.tolerance)
                    assert not result.passed, (attack, c.name)
                    assert ("dtype" if attack == "half" else "subclass") in result.message, result.message


def test_trusted_computations_use_one_thread_and_restore_the_count():
    """Nested (or concurrent, from the grader's worker threads) uses restore the count when the last one ends."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with _kit.OneThread():
            with _kit.OneThread():
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
