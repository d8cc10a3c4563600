"""Every registered notebook end to end: the solution executes offline in quick mode with its visible checks
passing, the committed student release is exactly what nbgrader generates and gives nothing away, and
`nbgrader autograde` gives the solution full marks and the untouched release zero. One autograde run per
notebook serves all of it (autograde executes the solution, hidden cells included)."""
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import registered, release_notebook, solution_notebook
from course import QUICK_OFFLINE, file_lock, make_course, nbgrader, shared_folder
from fixtures import examples_for

from autograder.notebook_run import printed_text, save_outputs

ASSIGNMENTS = registered()


@pytest.fixture(params=ASSIGNMENTS, ids=lambda a: a.id)
def assignment(request):
    return request.param


def test_release_hides_solutions_and_hidden_tests(assignment):
    """No solution code, no hidden tests, no outputs in the student notebook; every solution became a stub."""
    nb = nbformat.read(release_notebook(assignment), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "run_hidden_checks"):
        assert marker not in text
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    assert set(assignment.functions) <= set(stubs)
    assert all("raise NotImplementedError" in source or "YOUR CODE HERE" in source for source in stubs.values())
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader")]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"


def autograde(assignment, folder):
    """nbgrader generate_assignment, then autograde of the solution itself and of the untouched release, in a
    course under ``folder``. Returns the fresh release, the scores, nbgrader's output and the autograded
    solution notebook (executed, with its outputs)."""
    course = make_course(folder, assignment.id, with_release=False)
    result = nbgrader(course, "generate_assignment", assignment.id, "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    fresh = json.loads((course / "notebooks" / assignment.id / assignment.notebook).read_text())
    for student, source in (("solution", solution_notebook(assignment)), ("untouched", release_notebook(assignment))):
        target = course / "autograder" / "submitted" / student / assignment.id
        target.mkdir(parents=True)
        shutil.copy(source, target / assignment.notebook)
    result = nbgrader(course, "autograde", assignment.id, "--force", env=QUICK_OFFLINE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gb:
        scores = {s: (gb.find_submission(assignment.id, s).score, gb.find_submission(assignment.id, s).max_score)
                  for s in ("solution", "untouched")}
    executed = course / "autograder" / "autograded" / "solution" / assignment.id / assignment.notebook
    return fresh, scores, result.stdout[-4000:] + result.stderr[-4000:], executed


@pytest.fixture
def autograded(assignment, tmp_path_factory):
    """:func:`autograde` once per test session for ``assignment``, shared by the tests below and by the xdist
    workers (a file lock; the second worker reads the first one's course)."""
    folder = shared_folder(tmp_path_factory) / f"autograde-{assignment.id}"
    with file_lock(folder.with_suffix(".lock")):
        summary = folder / "summary.json"
        if not summary.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            fresh, scores, log, executed = autograde(assignment, folder)
            summary.write_text(json.dumps({"fresh": fresh, "scores": scores, "log": log, "executed": str(executed)}))
    data = json.loads(summary.read_text())
    return data["fresh"], {k: tuple(v) for k, v in data["scores"].items()}, data["log"], Path(data["executed"])


def test_solution_runs_every_cell_and_shows_its_results(assignment, autograded, tmp_path):
    """The solution, as nbgrader's autograde executed it offline in quick mode: no cell raised (a failing visible
    check or a broken cell shows here), figures come out, and whatever the assignment promises to show offline is
    printed."""
    nb = nbformat.read(autograded[3], as_version=4)
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}"), o.get("ename"), o.get("evalue"))
              for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"cells raised in the solution notebook: {errors}"
    files = save_outputs(nb, solution_notebook(assignment).stem, tmp_path / "out")
    text = printed_text(nb)
    assert "source=offline" in text, "the setup cell prints its status line"
    assert len([f for f in files if f.suffix in (".png", ".jpg")]) >= 2, "the notebook shows its results as figures"
    check_demo = examples_for(assignment.id).check_demo
    if check_demo is not None:
        check_demo(text)


def test_release_is_what_nbgrader_generates_and_autograde_scores_it(assignment, autograded):
    """notebooks/ equals a fresh `nbgrader generate_assignment` of solutions/ (else: `make notebooks`); nbgrader
    gives the solution every point and the untouched release zero, without crashing."""
    fresh, scores, log, _ = autograded
    committed = json.loads(release_notebook(assignment).read_text())
    assert committed == fresh, "notebooks/ is out of date: run `make notebooks` and commit the result"
    score, max_score = scores["solution"]
    assert max_score == assignment.max_points and score == max_score, log
    assert scores["untouched"] == (0, max_score)


SIZE_LIMIT = 3_000_000   # bytes of an executed notebook (Colab and nbgrader load it whole)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.id, indirect=True)
def test_executed_notebook_stays_small(assignment, autograded):
    """The solution as autograde executed it (quick mode, every figure) stays under 3 MB: notebook 04's
    ten-image grids are JPEG (hwlib.notebook.show_as_jpeg); as PNG they made it 6.8 MB. Full mode is measured by
    benchmarks/notebook_claims.py."""
    size = autograded[3].stat().st_size
    assert size < SIZE_LIMIT, f"executed notebook {size / 1e6:.2f} MB"
