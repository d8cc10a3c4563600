"""What a check is: a probe that runs a student's function on fixed inputs, and verdicts on what came out.

A *probe* runs wherever the student's code runs (the sandboxed child, or the nbgrader kernel) and turns the
function's behaviour into plain arrays. The *checks* of that probe run in a trusted process only (the grading
parent, or the hidden-test cell), and compare the student's arrays with the reference arrays that the same probe
produced from the solution notebook. One definition of each serves the fast grader and the nbgrader cells.

    probe.run(fn, context)                  -> {"saliency": (N, H, W) float32, ...}      (untrusted side)
    check.verify(student, reference, ctx)   -> Verdict(passed, message, figures)         (trusted side)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

Arrays = Mapping[str, np.ndarray]


class SubmissionError(Exception):
    """A student-caused problem found while probing (wrong type, unreadable output); the message is for the
    student."""


@dataclass(frozen=True)
class Tolerance:
    """``|student - reference| <= atol + rtol * scale``; what ``scale`` is, each check's docstring says."""
    rtol: float = 1e-3
    atol: float = 1e-6


@dataclass(frozen=True)
class Figure:
    """A picture for the feedback page: the student's image next to the reference.

    ``kind`` is ``"rgb"`` for ``(H, W, 3)`` uint8 images or ``"heatmap"`` for ``(H, W)`` float maps (drawn with one
    colour scale shared by both, so brightness is comparable).

    The feedback page shows the reference picture in full only when ``reference_safe`` is True: set it only where
    the picture cannot be turned back into a passing answer (say why in the check's docstring). Otherwise the page
    shows a coarse view (8 x 8 blocks, 4 levels; see :mod:`autograder.feedback`)."""
    title: str
    student: np.ndarray
    reference: np.ndarray
    kind: str = "rgb"
    reference_safe: bool = False


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: passed or not, a message the student understands, optional pictures."""
    passed: bool
    message: str
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Probe:
    """Runs the student's function ``function`` on seeded inputs and returns its behaviour as arrays.

    ``run(fn, context)`` may raise :class:`SubmissionError` (or anything the student's code raises).
    ``function`` may also name a plain value the student assigns (a quiz's answers dict): then set
    ``callable=False`` and ``run`` receives the value."""
    name: str
    function: str
    run: Callable[[Callable, object], dict[str, np.ndarray]]
    callable: bool = True


@dataclass(frozen=True)
class Check:
    """One graded property of one probe's outputs.

    ``verify(student, reference, context, tolerance)`` compares the student's arrays with the reference's and
    returns a :class:`Verdict`; it runs only in a trusted process and may use the context's model."""
    name: str
    probe: Probe
    points: float
    description: str
    verify: Callable[[Arrays, Arrays, object, Tolerance], Verdict]
    tolerance: Tolerance = field(default_factory=Tolerance)
    side_effect: bool = False
    """True for a check of a side effect only (the caller's tensor left untouched, no hook left registered): it
    may pass whatever the function returns. Every other check fails when the function's outputs are replaced by
    NaN, inf, huge values or its own input (the generic attack library asserts it for every assignment)."""

    @property
    def function(self) -> str:
        """The student function this check needs."""
        return self.probe.function


@dataclass(frozen=True)
class Assignment:
    """Everything the grader knows about one assignment: its notebook, its student functions and its checks.

    ``make_context(device)`` builds the inputs and the model the probes use (deterministic; the same on every
    machine). Checks are listed in the order they appear in the grade table.

    An assignment holds no answer: no example body, no reference output, no quiz key. Its example submissions
    (wrong, one bug, known variants) are test fixtures in ``tests/fixtures/<topic>.py``, which import the
    assignment, never the other way round; the reference outputs come from the solution notebook, computed only in
    the trusted grading process."""
    id: str
    notebook: str
    functions: tuple[str, ...]
    checks: tuple[Check, ...]
    make_context: Callable[[str], object]

    @property
    def probes(self) -> tuple[Probe, ...]:
        """Each probe once, in the order of the checks that use them."""
        seen: dict[str, Probe] = {}
        for check in self.checks:
            seen.setdefault(check.probe.name, check.probe)
        return tuple(seen.values())

    @property
    def max_points(self) -> float:
        return float(sum(c.points for c in self.checks))

    def points_for(self, function: str) -> float:
        """Total points of the checks that need ``function`` (the ``points`` of its hidden-test cell)."""
        return float(sum(c.points for c in self.checks if c.function == function))

    def checks_for(self, function: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.function == function)
