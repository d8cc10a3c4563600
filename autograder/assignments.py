"""THE registry: the only list of assignments. Tests, the demo, the example generator, the benchmarks and the
nbgrader configuration all iterate it; adding a notebook = its solution notebook, its checks package, one line in
``CHECK_MODULES``, its test fixtures (``tests/fixtures/<topic>.py``) and, when it downloads anything, its entries in
``hwlib/assets.py`` (the student-side list of downloads; hwlib cannot import this registry).

Each assignment has one checks package ``autograder/checks/<topic>/`` exposing ``ASSIGNMENT`` (an
:class:`~autograder.check.Assignment`), in one shape: ``context.py`` (the Context, ``make_context``, constants),
``probes.py`` (untrusted side), ``verdicts.py`` or ``verdicts_<function>.py`` (trusted side), ``__init__.py``
(``ASSIGNMENT_ID``, ``FUNCTIONS``, ``CHECKS``, ``ASSIGNMENT``); shared mechanics in ``checks/_kit.py``
(``docs/architecture.md``, "The checks packages").

Solution notebooks are the nbgrader sources in ``solutions/`` (override the folder with ``$AUTOGRADER_SOLUTIONS``);
student notebooks are the generated release in ``notebooks/``.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from .check import Assignment

CHECK_MODULES = {
    "01_gradient_ascent": "autograder.checks.gradient_ascent",
    "02_network_visualization": "autograder.checks.network_visualization",
    "03_adversarial_examples": "autograder.checks.adversarial_examples",
    "04_cnn_explanation": "autograder.checks.cnn_explanation",
    "05_bert_embeddings": "autograder.checks.bert_embeddings",
}


def registered() -> list[Assignment]:
    """Every registered assignment, in course order (what tests, the demo, the examples and nbgrader iterate)."""
    return [load_assignment(a) for a in CHECK_MODULES]


def load_assignment(assignment_id: str) -> Assignment:
    """The :class:`Assignment` called ``assignment_id`` (raises ``ValueError`` naming the known ones)."""
    if assignment_id not in CHECK_MODULES:
        raise ValueError(f"unknown assignment {assignment_id!r}; known: {', '.join(sorted(CHECK_MODULES))}.")
    return importlib.import_module(CHECK_MODULES[assignment_id]).ASSIGNMENT


def repo_root() -> Path:
    """The course repository this package lives in (parent of ``autograder/``)."""
    return Path(__file__).resolve().parent.parent


def solution_notebook(assignment: Assignment) -> Path:
    """``solutions/<id>/<notebook>`` (the trusted source of reference outputs)."""
    root = Path(os.environ.get("AUTOGRADER_SOLUTIONS") or repo_root() / "solutions")
    path = root / assignment.id / assignment.notebook
    if not path.is_file():
        raise FileNotFoundError(f"solution notebook not found at {path}; run the grader from a checkout of the "
                                "course repository, or set $AUTOGRADER_SOLUTIONS to the solutions/ folder.")
    return path


def solution_namespace(assignment: Assignment, replace: dict[str, str] | None = None, notebook: Path | None = None,
                       strict: bool = True) -> dict:
    """The namespace of ``assignment``'s solution notebook (or of ``notebook``, one of the same form: an example
    submission): its graded cells executed as the grader executes them, ``replace`` (grade_id -> source) running
    instead of those cells; a failing cell raises ``RuntimeError`` unless not ``strict``
    (:func:`autograder.runner.notebook_namespace`). Trusted processes and tests only."""
    from .runner import notebook_namespace

    return notebook_namespace(notebook or solution_notebook(assignment), assignment.functions, replace, strict)


def release_notebook(assignment: Assignment) -> Path:
    """``notebooks/<id>/<notebook>`` (what students start from)."""
    return repo_root() / "notebooks" / assignment.id / assignment.notebook


def examples_dir(assignment: Assignment) -> Path:
    """``autograder/examples/<id>/`` (example submissions for tests and the demo)."""
    return Path(__file__).resolve().parent / "examples" / assignment.id
