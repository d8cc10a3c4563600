"""autograder.notebook_checks: the hidden test cells nbgrader runs use the same checks, silently."""
import pytest

from autograder.extract import Cell
from autograder.notebook_checks import check_function, run_hidden_checks
from autograder.sandbox.runner import exec_cell, new_namespace

from autograder_helpers import example_cells


def namespace_of(example):
    namespace = new_namespace()
    for name, source in example_cells(example).items():
        assert exec_cell(Cell(name, source, 0), namespace) is None
    return namespace


@pytest.fixture(scope="module")
def perfect():
    return namespace_of("perfect.ipynb")


@pytest.mark.parametrize("function", ["compute_saliency_maps", "make_fooling_image",
                                      "class_visualization_update_step"])
def test_perfect_functions_pass_without_writing_to_stderr(perfect, function, capfd):
    """nbgrader gives a cell that writes to stderr 0 points: the checks print to stdout only."""
    run_hidden_checks("02_network_visualization", function, perfect)
    out, err = capfd.readouterr()
    assert err == "" and out.count("PASS ") >= 2 and "FAIL" not in out


def test_wrong_function_raises_with_the_grader_messages(capfd):
    wrong = namespace_of("wrong.ipynb")
    with pytest.raises(AssertionError, match="differs from the reference") as info:
        run_hidden_checks("02_network_visualization", "compute_saliency_maps", wrong)
    assert "2 of 2 hidden checks of compute_saliency_maps failed" in str(info.value)
    assert capfd.readouterr().err == ""


def test_same_verdicts_as_the_fast_grader(example_batch):
    """One definition of each check: the in-kernel path reaches the fast grader's verdicts on one_bug."""
    one_bug = namespace_of("one_bug.ipynb")
    fast = {c.name: (c.passed, c.message) for c in example_batch.results["one_bug"].checks}
    for function in ("compute_saliency_maps", "class_visualization_update_step"):
        for name, passed, message in check_function("02_network_visualization", function, one_bug):
            assert passed == fast[name][0] and message.split(" by ")[0] == fast[name][1].split(" by ")[0]


def test_missing_function_and_unknown_function_are_clear():
    with pytest.raises(AssertionError, match="is not defined"):
        run_hidden_checks("02_network_visualization", "make_fooling_image", new_namespace())
    with pytest.raises(ValueError, match="no checks for"):
        run_hidden_checks("02_network_visualization", "nope", new_namespace())
