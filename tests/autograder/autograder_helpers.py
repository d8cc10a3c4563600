"""Helpers shared by the autograder tests (imported as a module; fixtures live in conftest.py)."""
from __future__ import annotations

import json

import pytest

from autograder.assignments import release_notebook
from fixtures import examples_dir
from autograder.checks.network_visualization import ASSIGNMENT as INFRASTRUCTURE_ASSIGNMENT
from fixtures.attacks import SANDBOX_ONLY_ATTACKS
from autograder.sandbox import Limits, isolation
from course import file_lock  # noqa: F401  (re-exported for the autograder tests)

# The infrastructure tests (batch, CLI, sandbox, feedback) exercise the grader on one assignment; the tests of
# every assignment's examples and notebooks are parametrized over the registry.
# Generous for a loaded 2-core CI machine (a warm run needs ~1 s), small enough that the hostile infinite loop is cheap.
TEST_LIMITS = Limits(timeout_s=15, memory_mb=2048, threads=1)
LEAK_PORT = 47613  # hostile_network tries to send data here


def notebook_with(cells: dict[str, str], drop: tuple[str, ...] = (), assignment=INFRASTRUCTURE_ASSIGNMENT) -> str:
    """The student release with the cells of these grade_ids replaced by this code (a submission)."""
    nb = json.loads(release_notebook(assignment).read_text())
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in drop]
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell["source"] = cells[grade_id]
    return json.dumps(nb)


def example_cells(name: str, assignment=INFRASTRUCTURE_ASSIGNMENT) -> dict[str, str]:
    """The solution cells (by grade_id) of an example submission."""
    nb = json.loads((examples_dir(assignment) / name).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def suite_examples(assignment) -> list[str]:
    """The example submissions (stems, sorted) the test suite grades for ``assignment``: all of them, except the
    hostile ones where the sandbox has no namespaces (they really attack) and, for every assignment but the
    infrastructure tests' one, the attacks whose outcome cannot depend on the assignment
    (:data:`~fixtures.attacks.SANDBOX_ONLY_ATTACKS`: hangs, bombs, processes, network, per-uid state)."""
    skipped = set() if isolation() != "none" else {p.stem for p in examples_dir(assignment).glob("hostile_*.ipynb")}
    if assignment.id != INFRASTRUCTURE_ASSIGNMENT.id:
        skipped |= {f"hostile_{name}" for name in SANDBOX_ONLY_ATTACKS}
    return sorted(p.stem for p in examples_dir(assignment).glob("*.ipynb") if p.stem not in skipped)


needs_namespaces = pytest.mark.skipif(isolation() == "none",
                                      reason="no namespace isolation on this machine (needs root or user namespaces)")
