"""The student notebooks in notebooks/ are exactly what nbgrader generates from solutions/, and give nothing away."""
import json

import nbformat
import pytest

from notebook_course import ASSIGNMENT, NOTEBOOK, ROOT, make_course, nbgrader

RELEASED = ROOT / "notebooks" / ASSIGNMENT / NOTEBOOK


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("release"), with_release=False)
    result = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    return course / "notebooks" / ASSIGNMENT / NOTEBOOK


def test_committed_release_is_in_sync(regenerated):
    """notebooks/ must equal a fresh `nbgrader generate_assignment` of solutions/ (run `make notebooks`)."""
    fresh = json.loads(regenerated.read_text())
    committed = json.loads(RELEASED.read_text())
    assert committed == fresh, "notebooks/ is out of date: run `make notebooks` and commit the result"


def test_release_hides_solutions_and_hidden_tests():
    """No solution code, no hidden tests, no outputs in the student notebook; every solution became a stub."""
    nb = nbformat.read(RELEASED, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "run_hidden_checks", "autograd.grad(correct"):
        assert marker not in text
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(stubs) == 3 and all("raise NotImplementedError" in c.source for c in stubs)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_solution_cells_and_points():
    """Each graded function has one solution cell and one hidden-test cell, with points, named after it."""
    nb = nbformat.read(ROOT / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    solutions = {m["grade_id"] for m in meta if m.get("solution")}
    tests = {m["grade_id"]: m["points"] for m in meta if m.get("grade")}
    assert solutions == {"compute_saliency_maps", "make_fooling_image", "class_visualization_update_step"}
    assert set(tests) == {f"test_{s}" for s in solutions}
    assert all(p > 0 for p in tests.values())
    ids = [m["grade_id"] for m in meta if m]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
