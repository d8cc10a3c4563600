"""Helpers shared by the autograder tests (imported as a module; fixtures live in conftest.py)."""
from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder.assignments import examples_dir, release_notebook
from autograder.checks.network_visualization import ASSIGNMENT as INFRASTRUCTURE_ASSIGNMENT
from autograder.sandbox import Limits, isolation

# The infrastructure tests (batch, CLI, sandbox, feedback) exercise the grader on one assignment; the tests of
# every assignment's examples and notebooks are parametrized over the registry.
# Generous for a loaded 2-core CI machine (a warm run needs ~1 s), small enough that the hostile infinite loop is cheap.
TEST_LIMITS = Limits(timeout_s=15, memory_mb=2048, threads=1)
LEAK_PORT = 47613  # hostile_network tries to send data here


@contextmanager
def file_lock(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


needs_namespaces = pytest.mark.skipif(isolation() == "none",
                                      reason="no namespace isolation on this machine (needs root or user namespaces)")
