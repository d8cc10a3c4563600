"""The hidden-test cells nbgrader runs agree with the fast grader, for every registered assignment: the same
checks, the same points, the same verdicts on the example submissions."""
import ast
import json

import pytest

from autograder.assignments import registered, solution_notebook
from fixtures import examples_dir, examples_for
from autograder.extract import Cell
from autograder.notebook_checks import check_function
from autograder.sandbox.runner import exec_cell, new_namespace

ASSIGNMENTS = registered()


def hidden_calls(assignment):
    """``[(grade_id, points, function, check names or None)]`` of every grade cell of the solution notebook."""
    nb = json.loads(solution_notebook(assignment).read_text())
    calls = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") in
                 ("run_hidden_checks", "quiz_score")]   # quiz_score: nbgrader partial credit as the cell's value
        assert len(found) == 1, f"{meta['grade_id']}: one run_hidden_checks (or quiz_score) call per grade cell"
        call = found[0]
        assert ast.literal_eval(call.args[0]) == assignment.id, meta["grade_id"]
        keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        checks = keywords.get("checks", ast.literal_eval(call.args[3]) if len(call.args) > 3 else None)
        calls.append((meta["grade_id"], meta["points"], ast.literal_eval(call.args[1]), checks))
    return calls


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id)
def test_each_hidden_cell_carries_the_points_of_its_checks(assignment):
    """A hidden cell's nbgrader points = the points of the checks it runs; together they run every check once."""
    seen = []
    for grade_id, cell_points, function, names in hidden_calls(assignment):
        checks = [c for c in assignment.checks_for(function) if names is None or c.name in names]
        assert checks, f"{grade_id}: no checks for {function!r} {names or ''}"
        assert cell_points == sum(c.points for c in checks), grade_id
        seen += [c.name for c in checks]
    assert sorted(seen) == sorted(c.name for c in assignment.checks)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id)
def test_each_run_hidden_checks_cell_runs_one_check(assignment):
    """nbgrader scores a cell all or nothing, so a cell running several checks would take every point of them
    for one failure and disagree with the fast grader; a quiz_score cell returns its partial credit instead."""
    nb = json.loads(solution_notebook(assignment).read_text())
    grade_cells = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
    for grade_id, _, function, names in hidden_calls(assignment):
        if "quiz_score(" in grade_cells[grade_id]:
            continue
        checks = [c.name for c in assignment.checks_for(function) if names is None or c.name in names]
        assert len(checks) == 1, f"{grade_id} runs {checks}: split it into one hidden cell per check"


def namespace_of(assignment, example):
    nb = json.loads((examples_dir(assignment) / example).read_text())
    namespace = new_namespace()
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec_cell(Cell(cell["metadata"]["nbgrader"]["grade_id"], "".join(cell["source"]), 0), namespace)
    return namespace


def honest_examples(assignment):
    """perfect, one_bug and wrong (between them every check both passes and fails) and the variants that keep
    full marks: where the two paths disagreeing would cost an honest student points in nbgrader. The variants
    that lose points are graded by the fast grader in test_grading_examples."""
    return ["perfect", "one_bug", "wrong", *(f"variant_{name}" for name, v in examples_for(assignment.id).variants.items()
                                             if not v.loses)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id)
def test_hidden_cells_reach_the_fast_graders_verdicts(assignment, example_batches):
    """For these honest examples, each check passes in the nbgrader path exactly when it passes in the fast
    grader (one definition of each check, two ways of running the student's code)."""
    batch = example_batches(assignment)
    for example in honest_examples(assignment):
        fast = {c.name: c.passed for c in batch.results[example].checks}
        namespace = namespace_of(assignment, f"{example}.ipynb")
        for function in assignment.functions:
            for name, passed, message in check_function(assignment.id, function, namespace):
                assert passed == fast[name], f"{example}/{name}: hidden cell {passed}, fast grader {fast[name]}: " \
                                             f"{message}"
