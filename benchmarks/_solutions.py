"""Load a reference function from a solution notebook (the one source of truth), for benchmarks only.

Uses the autograder's own extraction, so benchmarks time exactly the code the grader treats as the reference."""
from __future__ import annotations

from pathlib import Path

from autograder.extract import notebook_cells
from autograder.sandbox.runner import exec_cell, new_namespace

ROOT = Path(__file__).resolve().parent.parent


def solution_function(assignment: str, notebook: str, name: str):
    """Execute the solution cell that defines ``name`` and return the function."""
    namespace = new_namespace()
    for cell in notebook_cells(ROOT / "solutions" / assignment / notebook, (name,)):
        error = exec_cell(cell, namespace)
        if error:
            raise RuntimeError(f"solution of {assignment}: {error}")
    if name not in namespace:
        raise KeyError(f"no solution cell defines {name!r} in {assignment}/{notebook}")
    return namespace[name]
