"""The hidden-test cells nbgrader runs agree with the fast grader, for every registered assignment: the same
checks, the same points, the same verdicts on the example submissions; and they are what ``python -m autograder
sync`` writes from the registry."""
import ast
import dataclasses
import json
import shutil

import nbformat
import pytest

from autograder.assignments import registered, solution_namespace, solution_notebook
from autograder.course import hidden_cell_source, is_hidden_cell, sync, with_hidden_cells
from fixtures import examples_dir, examples_for
from autograder.notebook_checks import check_function

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
        found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") ==
                 "run_hidden_checks"]
        assert len(found) == 1, f"{meta['grade_id']}: one run_hidden_checks call per grade cell"
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
def test_each_hidden_cell_runs_one_check(assignment):
    """nbgrader scores a cell all or nothing, so a cell running several checks would take every point of them
    for one failure and disagree with the fast grader."""
    for grade_id, _, function, names in hidden_calls(assignment):
        checks = [c.name for c in assignment.checks_for(function) if names is None or c.name in names]
        assert len(checks) == 1, f"{grade_id} runs {checks}: split it into one hidden cell per check"


def test_sync_check_is_clean_on_the_repository(capsys):
    """Every solution notebook's hidden cells (and first cells) are what the registry generates; else run
    `python -m autograder sync`."""
    from autograder.cli import main

    assert sync(check=True) == []
    assert main(["sync", "--check"]) == 0, capsys.readouterr().out
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(solution_notebook(assignment), as_version=4)
        by_grade_id = {c.metadata.nbgrader.grade_id: c for c in nb.cells if is_hidden_cell(c)}
        assert len(by_grade_id) == len(assignment.checks)
        for grade_id, _, _, (name,) in hidden_calls(assignment):
            check = next(c for c in assignment.checks if c.name == name)
            assert by_grade_id[grade_id].source == hidden_cell_source(assignment, check)


def _with_points(assignment, name, points):
    return dataclasses.replace(assignment, checks=tuple(dataclasses.replace(c, points=points) if c.name == name
                                                        else c for c in assignment.checks))


def test_a_checks_points_change_its_generated_cell_and_nothing_else(tmp_path, monkeypatch):
    """In a copy of the solutions: a Check worth 3.5 points makes sync rewrite that check's cell (points in the
    metadata and the comment), keep its grade_id and cell id, and leave every other cell as it was; --check
    reports the notebook (and writes nothing) until it is synced."""
    assignment = ASSIGNMENTS[0]
    check = assignment.checks[0]
    changed = _with_points(assignment, check.name, 3.5)
    shutil.copytree(solution_notebook(assignment).parent, tmp_path / assignment.id)
    monkeypatch.setenv("AUTOGRADER_SOLUTIONS", str(tmp_path))
    path = solution_notebook(changed)
    before = nbformat.read(path, as_version=4)
    assert sync(check=True, assignments=[changed]) == [path]
    assert nbformat.read(path, as_version=4) == before
    assert sync(assignments=[changed]) == [path] and sync(check=True, assignments=[changed]) == []
    after = nbformat.read(path, as_version=4)
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    differ = [(b, a) for b, a in zip(before.cells, after.cells) if a != b]
    assert len(differ) == 1
    old, new = differ[0]
    assert new.metadata.nbgrader.grade_id == old.metadata.nbgrader.grade_id == f"test_{check.name}"
    assert old.metadata.nbgrader.points == check.points and new.metadata.nbgrader.points == 3.5
    assert "(3.5 points)" in new.source and new.source == hidden_cell_source(changed, changed.checks[0])


def test_new_and_removed_checks_get_and_lose_their_cells():
    """A check the notebook has no cell for gets one right after its function's other cells (grade_id
    test_<check>, a cell id that is the same on every run); a check the registry dropped loses its cell; a
    one-cell quiz (quiz_score) becomes one cell per question."""
    assignment = ASSIGNMENTS[0]
    first, dropped, *rest = assignment.checks
    extra = dataclasses.replace(first, name="gradient_extra", points=1.25)
    grown = dataclasses.replace(assignment, checks=(first, extra, *rest))
    nb = nbformat.read(solution_notebook(assignment), as_version=4)
    new = with_hidden_cells(nb, grown)
    hidden = [c.metadata.nbgrader.grade_id for c in new.cells if is_hidden_cell(c)]
    assert f"test_{dropped.name}" not in hidden and len(hidden) == len(grown.checks)
    assert hidden[:2] == [f"test_{first.name}", "test_gradient_extra"]
    cell = next(c for c in new.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_gradient_extra")
    assert cell.metadata.nbgrader.points == 1.25 and cell.source == hidden_cell_source(grown, extra)
    assert with_hidden_cells(nb, grown) == new and with_hidden_cells(new, grown) == new

    quiz = next(a for a in ASSIGNMENTS if "ANSWERS" in a.functions)   # an assignment with a quiz
    nb = nbformat.read(solution_notebook(quiz), as_version=4)
    expected = [c.source for c in nb.cells]
    at = next(i for i, c in enumerate(nb.cells) if is_hidden_cell(c) and '"ANSWERS"' in c.source)
    nb.cells = [c for c in nb.cells if not (is_hidden_cell(c) and '"ANSWERS"' in c.source)]
    nb.cells.insert(at, nbformat.v4.new_code_cell(
        '### BEGIN HIDDEN TESTS\nfrom autograder.checks.quiz import quiz_score\n'
        f'quiz_score("{quiz.id}", "ANSWERS", globals())\n### END HIDDEN TESTS',
        metadata={"nbgrader": {"grade": True, "grade_id": "test_ANSWERS", "locked": True, "points": 4,
                               "schema_version": 3, "solution": False}}))
    assert [c.source for c in with_hidden_cells(nb, quiz).cells] == expected


def namespace_of(assignment, example):
    """The example submission's functions; a cell that raises is skipped, as in grading."""
    return solution_namespace(assignment, notebook=examples_dir(assignment) / example, strict=False)


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


def test_consecutive_hidden_cells_of_a_function_judge_one_run_of_its_probe():
    """A function's hidden cells (one per check, one after the other) run its probe once, as the fast grader does;
    a namespace in which anything was rebound since (a redefined function, a new variable) runs it again, and
    another namespace never sees this one's run."""
    assignment, probe = next((a, c.probe.name) for a in ASSIGNMENTS for c in a.checks
                             if not c.gated and sum(d.probe.name == c.probe.name and not d.gated
                                                    for d in a.checks) >= 2)
    shared = [c for c in assignment.checks if c.probe.name == probe and not c.gated]
    function, checks = shared[0].function, [c.name for c in shared]   # several checks judge this one probe
    namespace = solution_namespace(assignment)
    calls = []
    original = namespace[function]

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)
    namespace[function] = counted
    first = check_function(assignment.id, function, namespace, checks=checks[:1])
    runs = len(calls)
    assert runs > 0 and first[0][1], first
    for name in checks[1:]:
        assert check_function(assignment.id, function, namespace, checks=(name,))[0][1]
    assert len(calls) == runs, "the probe ran again for the next hidden cell"
    namespace["_i7"] = "IPython's own names change with every cell"
    check_function(assignment.id, function, namespace, checks=checks[:1])
    assert len(calls) == runs
    namespace["x_before"] = object()            # a student's cell ran in between: run again
    check_function(assignment.id, function, namespace, checks=checks[:1])
    assert len(calls) == 2 * runs
    other = dict(namespace)
    check_function(assignment.id, function, other, checks=checks[:1])
    assert len(calls) == 3 * runs
