"""autograder.notebook_checks: the hidden test cells nbgrader runs use the same checks, silently, one cell per
check, so that nbgrader's all-or-nothing cells add up to the fast grader's points."""
import contextlib
import io
import json

import pytest

from autograder.assignments import solution_namespace, solution_notebook
from autograder.checks import network_visualization as nv
from fixtures import examples_dir
from fixtures import network_visualization as nv_fixtures
from autograder.notebook_checks import check_function, run_hidden_checks
from autograder.runner import new_namespace

ID = nv.ASSIGNMENT.id
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def namespace_of(example):
    """The example submission's functions (every cell must run)."""
    return solution_namespace(nv.ASSIGNMENT, notebook=examples_dir(nv.ASSIGNMENT) / example)


@pytest.fixture(scope="module")
def perfect():
    return namespace_of("perfect.ipynb")


def nbgrader_points(namespace, functions):
    """What nbgrader gives: each hidden cell of the solution notebook (for ``functions``) run in ``namespace``,
    its points when it raises nothing, else 0."""
    total = 0.0
    for cell in json.loads(solution_notebook(nv.ASSIGNMENT).read_text())["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        source = "".join(cell["source"])
        if not meta.get("grade") or not any(f'"{f}"' in source for f in functions):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, meta["grade_id"], "exec"), namespace)
        except AssertionError:
            continue
        total += meta["points"]
    return total


@pytest.mark.parametrize("function", nv.FUNCTIONS)
def test_perfect_functions_pass_without_writing_to_stderr(perfect, function, capfd):
    """nbgrader gives a cell that writes to stderr 0 points: the checks print to stdout only."""
    run_hidden_checks(ID, function, perfect)
    out, err = capfd.readouterr()
    assert err == "" and out.count("PASS ") >= 2 and "FAIL" not in out


def test_wrong_function_raises_with_the_grader_messages(capfd):
    wrong = namespace_of("wrong.ipynb")
    with pytest.raises(AssertionError, match="differs from the reference") as info:
        run_hidden_checks(ID, "compute_saliency_maps", wrong)
    assert "3 of 3 hidden checks of compute_saliency_maps failed" in str(info.value)
    assert capfd.readouterr().err == ""


def test_checks_argument_runs_only_the_named_checks():
    """The CS231n starter line X.requires_grad_() fails the side-effect cell only; the map cells pass."""
    namespace = namespace_of("variant_saliency_cs231n_requires_grad.ipynb")
    results = check_function(ID, "compute_saliency_maps", namespace, checks=("saliency_batch", "saliency_single"))
    assert [(name, passed) for name, passed, _ in results] == [("saliency_batch", True), ("saliency_single", True)]
    with pytest.raises(AssertionError, match="switched on X.requires_grad"):
        run_hidden_checks(ID, "compute_saliency_maps", namespace, checks=("saliency_input_untouched",))
    with pytest.raises(ValueError, match="no checks named"):
        run_hidden_checks(ID, "compute_saliency_maps", namespace, checks=("fooling_target",))


@pytest.mark.parametrize("example, functions", [
    ("perfect", ("compute_saliency_maps", "class_visualization_update_step")),
    ("wrong", nv.FUNCTIONS),
    ("variant_saliency_cs231n_requires_grad", ("compute_saliency_maps",)),
    ("variant_saliency_batch_mean", ("compute_saliency_maps",)),
    ("variant_step_grad_accumulates", ("class_visualization_update_step",)),
])
def test_hidden_cells_add_up_to_the_fast_graders_points(example, functions):
    """Partial credit survives nbgrader: the cells of a known variant give the points of the checks it keeps.
    (Every check's verdict in the hidden cells equals the fast grader's for every example: test_hidden_cells.)"""
    if example in ("perfect", "wrong"):
        lost = set() if example == "perfect" else {c.name for c in nv.CHECKS}
    else:
        lost = set(nv_fixtures.VARIANTS[example.removeprefix("variant_")].loses)
    expected = sum(c.points for c in nv.CHECKS if c.function in functions and c.name not in lost)
    assert nbgrader_points(namespace_of(f"{example}.ipynb"), functions) == expected


def test_missing_function_and_unknown_function_are_clear():
    with pytest.raises(AssertionError, match="is not defined"):
        run_hidden_checks(ID, "make_fooling_image", new_namespace())
    with pytest.raises(ValueError, match="no checks for"):
        run_hidden_checks(ID, "nope", new_namespace())
