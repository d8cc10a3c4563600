"""autograder.checks.cnn_explanation (notebook 04) and the generic quiz checks: verdicts on crafted outputs, the
messages students read, and the reference functions against Captum."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.check import SubmissionError
from autograder.checks import cnn_explanation as ce
from autograder.checks import cnn_explanation as cp
from autograder.checks import quiz
from autograder.reference import reference_outputs
from autograder.assignments import solution_notebook
from autograder.course import hidden_cell_source
from course import solution_namespace

A = ce.ASSIGNMENT


@pytest.fixture(scope="module")
def reference():
    return reference_outputs(A)


@pytest.fixture(scope="module")
def ctx():
    return ce.make_context("cpu")


@pytest.fixture(scope="module")
def solution():
    """The solution notebook's functions, extracted as the grader extracts them."""
    return solution_namespace(A)


def check(name):
    return next(c for c in A.checks if c.name == name)


def verdict(name, student, reference, ctx):
    c = check(name)
    return c.verify(student, reference[c.probe.name], ctx, c.tolerance)


# ------------------------------------------------------------------------------------------------------------ the quiz
@pytest.mark.parametrize("answer, expected", [
    ("ac", [1, 0, 1, 0]), ("CA", [1, 0, 1, 0]), ("a, c", [1, 0, 1, 0]), ({"a", "d"}, [1, 0, 0, 1]),
    (["b"], [0, 1, 0, 0]), ("a c", [1, 0, 1, 0]),
])
def test_quiz_answers_in_any_reasonable_form(answer, expected):
    assert quiz.parse_choices(answer, 4).tolist() == expected


@pytest.mark.parametrize("answer, code", [
    (None, quiz.UNANSWERED), ("", quiz.UNANSWERED), ("ae", quiz.INVALID), ("abcdefghij", quiz.INVALID),
    (3, quiz.INVALID), (["ab"], quiz.INVALID), ("a1", quiz.INVALID),
])
def test_quiz_unusable_answers(answer, code):
    assert int(quiz.parse_choices(answer, 4)) == code


def test_quiz_checks_one_per_question_with_partial_credit():
    checks = quiz.quiz_checks({1: 4, 2: 3}, points=0.5)
    key = checks[0].probe.run({1: "ab", 2: "c"}, None)
    student = checks[0].probe.run({"q1": "BA", "Q02": "a"}, None)
    results = [c.verify(student, key, None, c.tolerance) for c in checks]
    assert [c.name for c in checks] == ["quiz_q01", "quiz_q02"] and all(c.points == 0.5 for c in checks)
    assert [r.passed for r in results] == [True, False]
    assert "you chose a" in results[1].message and "c" not in results[1].message.split("chose")[1][:6]
    with pytest.raises(SubmissionError, match="must be a dict"):
        checks[0].probe.run([("1", "a")], None)
    with pytest.raises(ValueError):
        quiz.quiz_checks({1: 1})


def test_quiz_key_is_not_in_the_checks_module():
    """The answers live only in the solution notebook; the checks module and its examples never spell them."""
    import inspect

    from fixtures import cnn_explanation as cnn_explanation_examples

    for module in (ce, cp, cnn_explanation_examples):
        assert '"acd"' not in inspect.getsource(module) and "ANSWERS = {1" not in inspect.getsource(module)


def test_every_question_has_a_key_and_never_all_options(reference):
    for n in cp.QUESTIONS:
        key = reference["quiz"][quiz.question_key(n)]
        assert key.shape == (4,) and 0 < key.sum() < 4


# ------------------------------------------------------------------------------------------------------------ the checks
def test_the_reference_passes_every_check(reference, ctx):
    for c in A.checks:
        result = c.verify(reference[c.probe.name], reference[c.probe.name], ctx, c.tolerance)
        assert result.passed, (c.name, result.message)


def _replace(reference, probe, key, value):
    student = dict(reference[probe])
    student[key] = value
    return student


OUTPUT_KEYS = {"saliency": ["saliency", "saliency_small"], "smooth_zero_noise": ["smooth"],
               "smooth_statistics": ["maps"],
               "filter": ["activations", "visualizations", "visualizations_other", "ascent"],
               "filter_batchnorm": ["activations"], "integrated_gradients": ["attributions", "batched", "small"],
               "ig_completeness": ["attributions"]}


@pytest.mark.parametrize("bad", ["nan", "inf", "huge", "half"])
def test_unusable_outputs_fail_every_property_check(reference, ctx, bad):
    """NaN, inf, absurd values or a converted dtype in the outputs fail every check that is not a side effect."""
    for c in A.checks:
        if c.side_effect or c.name.startswith("quiz"):
            continue
        student = dict(reference[c.probe.name])
        for key in OUTPUT_KEYS[c.probe.name]:
            value = student[key].copy()
            if bad == "half":
                student[f"{key}_dtype_ok"] = np.asarray(False)
            else:
                value.flat[0] = {"nan": np.nan, "inf": np.inf, "huge": 1e30}[bad]
                student[key] = value
        result = c.verify(student, reference[c.probe.name], ctx, c.tolerance)
        assert not result.passed, (c.name, bad)


def test_side_effects_are_their_own_checks(reference, ctx):
    student = _replace(reference, "saliency", "x_requires_grad", np.asarray(True))
    assert verdict("saliency_reference", student, reference, ctx).passed
    assert "requires_grad" in verdict("saliency_input_untouched", student, reference, ctx).message
    student = _replace(reference, "filter", "x_after", reference["filter"]["x_after"] + 0.5)
    assert "modified its input x" in verdict("filter_input_untouched", student, reference, ctx).message
    student = _replace(reference, "filter", "hooks_left", np.asarray(2))
    result = verdict("filter_hooks_removed", student, reference, ctx)
    assert not result.passed and "handle.remove()" in result.message
    assert verdict("filter_activations", student, reference, ctx).passed


@pytest.mark.parametrize("transform, hint", [
    (lambda s: -s, "absolute value"),
    (lambda s: s * 0.5 + 0.2, "normalise each map on its own"),
    (lambda s: np.sqrt(s), "cross-entropy loss"),
])
def test_saliency_hints(reference, ctx, transform, hint):
    student = _replace(reference, "saliency", "saliency", transform(reference["saliency"]["saliency"]))
    result = verdict("saliency_reference", student, reference, ctx)
    assert not result.passed and hint in result.message and len(result.figures) == 2


def test_saliency_normalisation_is_its_own_check(reference, ctx):
    assert not verdict("saliency_normalized", _replace(reference, "saliency", "saliency",
                                                       reference["saliency"]["saliency"] * 0.9), reference, ctx).passed


def test_smooth_grad_statistics_need_the_copies_the_noise_and_the_spread(reference, ctx):
    stats = reference["smooth_statistics"]
    same = dict(stats, maps=np.repeat(stats["maps"][:1], len(stats["maps"]), axis=0))
    result = verdict("smooth_grad_statistics", same, reference, ctx)
    assert not result.passed and "spread" in result.message          # the same map on every call
    copies = stats["copies"].copy()
    copies[1] -= 1
    result = verdict("smooth_grad_statistics", dict(stats, copies=copies), reference, ctx)
    assert not result.passed and "epoch = 40" in result.message and "39 noisy copies" in result.message
    result = verdict("smooth_grad_statistics", dict(stats, noise_std=stats["noise_std"] * 1.2), reference, ctx)
    assert not result.passed and "standard deviation" in result.message
    unnormalised = dict(stats, maps=stats["maps"] * 0.5 + 0.1)
    result = verdict("smooth_grad_statistics", unnormalised, reference, ctx)
    assert not result.passed and "from 0 to 1" in result.message


def test_filter_hooks_must_go_when_the_model_raises(reference, ctx):
    student = _replace(reference, "filter", "hooks_left_after_error", np.asarray(1))
    result = verdict("filter_hooks_removed", student, reference, ctx)
    assert not result.passed and "finally" in result.message


def test_filter_ascent_from_given_noise_must_match(reference, ctx):
    ascent = reference["filter"]["ascent"]
    start = torch.rand(ascent.shape, generator=torch.Generator().manual_seed(0)).numpy()
    result = verdict("filter_visualization_raises", _replace(reference, "filter", "ascent", start), reference, ctx)
    assert not result.passed and "Adam" in result.message


def test_filter_visualization_that_is_its_start_noise_is_not_from_noise(reference, ctx):
    """The generic noise_output attack returns torch.rand under seed 0, the probe's own start noise."""
    shape = reference["filter"]["visualizations"].shape
    noise = torch.rand(shape, generator=torch.Generator().manual_seed(cp.FILTER_SEED)).numpy()
    student = dict(reference["filter"], visualizations=noise, visualizations_other=noise)
    result = verdict("filter_visualization_from_noise", student, reference, ctx)
    assert not result.passed and "starting noise" in result.message


def test_integrated_gradients_must_not_depend_on_the_batch_size(reference, ctx):
    ig = reference["integrated_gradients"]
    result = verdict("ig_reference", _replace(reference, "integrated_gradients", "batched", ig["batched"] * 0.9),
                     reference, ctx)
    assert not result.passed and "in batches of 3" in result.message


def test_unnormalised_zero_noise_smooth_grad_gets_a_hint(reference, ctx):
    student = _replace(reference, "smooth_zero_noise", "smooth", reference["smooth_zero_noise"]["smooth"] * 3 + 1)
    result = verdict("smooth_grad_zero_noise", student, reference, ctx)
    assert not result.passed and "normalise" in result.message


def test_uncloned_activations_get_the_clone_hint(reference, ctx):
    relu = np.maximum(reference["filter_batchnorm"]["activations"], 0)
    result = verdict("filter_activations_cloned", _replace(reference, "filter_batchnorm", "activations", relu),
                     reference, ctx)
    assert not result.passed and "clone" in result.message


def test_filter_visualization_must_raise_the_activation(reference, ctx):
    noise = torch.rand(reference["filter"]["visualizations"].shape, generator=torch.Generator().manual_seed(3))
    student = dict(reference["filter"], visualizations=noise.numpy(), visualizations_other=noise.numpy())
    assert not verdict("filter_visualization_raises", student, reference, ctx).passed
    assert verdict("filter_visualization_from_noise", student, reference, ctx).passed


def test_filter_visualization_of_the_images_is_not_from_noise(reference, ctx):
    x, other = ctx.X[cp.FILTER_IMAGES].numpy(), ctx.X[cp.FILTER_OTHER_IMAGES].numpy()
    student = dict(reference["filter"], visualizations=x, visualizations_other=other)
    result = verdict("filter_visualization_from_noise", student, reference, ctx)
    assert not result.passed and "HW9" in result.message
    constant = np.full_like(x, 0.5)
    student = dict(reference["filter"], visualizations=constant, visualizations_other=constant)
    assert not verdict("filter_visualization_from_noise", student, reference, ctx).passed


def test_hw9_integrated_gradients_fail_completeness(reference, ctx):
    """HW9 returns the mean path gradient, without x (- baseline): its sum is not F(x) - F(baseline)."""
    x = ctx.X[cp.IG_COMPLETE_IMAGE].numpy()
    attributions = reference["ig_completeness"]["attributions"]
    mean_gradient = np.where(x > 1e-3, attributions / np.maximum(x, 1e-3), 0.0).astype(np.float32)
    result = verdict("ig_completeness", _replace(reference, "ig_completeness", "attributions", mean_gradient),
                     reference, ctx)
    assert not result.passed and "add up" in result.message


# --------------------------------------------------------------------------------------- the references against Captum
def test_integrated_gradients_equal_captums_riemann_sums(solution, ctx):
    """The reference is Captum's riemann_right (alpha = 1/m .. 1) within 1e-5; Captum's riemann_left (HW9's alphas,
    times x) differs from it by exactly x * (grad F(x) - grad F(0)) / m."""
    from captum.attr import IntegratedGradients as CaptumIG

    model = ctx.fresh_model()
    x, target, steps = ctx.X[3:4], int(ctx.y[3]), 16
    ours = solution["IntegratedGradients"](model).generate_integrated_gradients(x, target, steps)
    right = CaptumIG(model).attribute(x, target=target, n_steps=steps, method="riemann_right")[0]
    left = CaptumIG(model).attribute(x, target=target, n_steps=steps, method="riemann_left")[0]
    torch.testing.assert_close(ours, right, rtol=1e-5, atol=1e-5 * float(right.abs().max()))

    def gradient(image):
        image = image.clone().requires_grad_(True)
        return torch.autograd.grad(model(image)[0, target], image)[0][0]
    endpoints = x[0] * (gradient(x) - gradient(torch.zeros_like(x))) / steps
    torch.testing.assert_close(ours - endpoints, left, rtol=1e-5, atol=1e-5 * float(left.abs().max()))


def test_smooth_grad_agrees_with_captums_noise_tunnel_in_distribution(solution, ctx):
    """Captum's NoiseTunnel(Saliency) with an absolute stdev sigma = multiplier * range, on the loss, behind the same
    spy as the probe: the same number of copies, the same noise and the same distribution of maps as the solution
    (judged by the grader's own verdict); Captum with HW9's noise level fails it."""
    from captum.attr import NoiseTunnel, Saliency

    x = ctx.smooth_spy_image()

    def captum_with(stdev=None):
        def fn(x, y, model, epoch, multiplier):   # model: the probe's spy, so Captum's noisy copies are recorded
            tunnel = NoiseTunnel(Saliency(lambda z: -F.log_softmax(model(z), dim=1)))
            sigma = multiplier * float(x.max() - x.min()) if stdev is None else stdev
            maps = tunnel.attribute(x[None], nt_type="smoothgrad", nt_samples=epoch, stdevs=sigma, target=int(y),
                                    abs=True)[0]
            return (maps - maps.min()) / (maps.max() - maps.min())
        return fn

    ours = cp._smooth_spy_probe(solution["smooth_grad"], ctx)
    theirs = cp._smooth_spy_probe(captum_with(), ctx)
    c = check("smooth_grad_statistics")
    result = c.verify(theirs, ours, ctx, c.tolerance)
    assert result.passed, result.message
    hw9_sigma = (cp.SMOOTH_SPY_MULTIPLIER / float(x.max() - x.min())) ** 2
    result = c.verify(cp._smooth_spy_probe(captum_with(hw9_sigma), ctx), ours, ctx, c.tolerance)
    assert not result.passed and "sigma" in result.message


def test_smooth_grad_without_noise_fails_statistics(solution, ctx):
    """No noise at all, one random hot pixel per call (so that two calls differ): the yardstick is the stated noise,
    not the student's own draws."""
    def no_noise(x, y, model, epoch, multiplier):
        smooth = solution["smooth_grad"](x, y, model, epoch, 0.0)
        smooth.view(-1)[torch.randint(smooth.numel(), ())] = 1.0
        return smooth
    ours = cp._smooth_spy_probe(solution["smooth_grad"], ctx)
    c = check("smooth_grad_statistics")
    result = c.verify(cp._smooth_spy_probe(no_noise, ctx), ours, ctx, c.tolerance)
    assert not result.passed and "noise" in result.message


def test_saliency_is_the_loss_gradient_of_each_image(solution, ctx):
    """Known answer from Captum's Saliency on the per-image loss, then HW9's per-image normalisation."""
    from captum.attr import Saliency

    model = ctx.fresh_model()
    x, y = ctx.X[:3], ctx.y[:3]
    ours = solution["compute_saliency_maps"](x, y, model)
    grads = Saliency(lambda z: -F.log_softmax(model(z), dim=1)).attribute(x.clone(), target=y, abs=True).amax(1)
    low, high = grads.amin((1, 2), keepdim=True), grads.amax((1, 2), keepdim=True)
    torch.testing.assert_close(ours, (grads - low) / (high - low), rtol=1e-4, atol=1e-4)


def test_quiz_hidden_cells_run_one_question_each():
    """The solution's quiz cells are the registry's hidden cells (course.hidden_cell_source), one per question,
    worth that question's points, under the grade_ids instructors' gradebooks already know."""
    import json

    nb = json.loads(solution_notebook(A).read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade")}
    for n in cp.QUESTIONS:
        cell = cells[f"test_ANSWERS_q{n:02d}"]
        assert "".join(cell["source"]) == hidden_cell_source(A, check(f"quiz_q{n:02d}"))
        assert cell["metadata"]["nbgrader"]["points"] == check(f"quiz_q{n:02d}").points
