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
    engaged: Callable[[Arrays, Arrays, object], bool] | None = None
    """Optional trusted verdict for :attr:`Check.needs_work`: ``engaged(student, reference, context)`` is True when
    the outputs follow the model even though they are wrong (an attack that steps against the gradient), so the
    function's property checks still count; it must be False for every no-work answer (the input echoed, a
    constant, seeded noise)."""


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
    needs_work: bool = False
    """True for a property that an answer doing no work at all could have (pixels in [0, 1], within the budget, the
    same result twice). Such a check, and every side-effect check, counts only when the function did its work: one
    of its other checks passed, or its probe's :attr:`Probe.engaged` says the outputs follow the model. The input
    echoed, a constant or noise earns nothing (the generic attack library asserts it for every assignment)."""

    @property
    def gated(self) -> bool:
        """Counts only when the function did its work (see :attr:`needs_work`)."""
        return self.side_effect or self.needs_work

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

    def work_checks(self, function: str) -> tuple[Check, ...]:
        """The checks that show ``function`` did its work (its checks that are not :attr:`Check.gated`)."""
        return tuple(c for c in self.checks_for(function) if not c.gated)


def follows_reference(key: str, start: Callable[[object], object] | None = None, changes: bool = True):
    """A :attr:`Probe.engaged` verdict (trusted side): the student's ``key`` follows the model when the part of it
    that the probe's input image does not explain is correlated with the reference's,
    ``|r| >= max(0.1, 5 / sqrt(n))`` over the ``n`` values.

    ``start(context)`` is that input image (a tensor or array of the output's shape). With it, both outputs are
    taken as changes from it (``changes``; False for outputs that are not images, such as gradients), and the
    student's is first freed of its linear fit on the image. So the image echoed (+- epsilon) and a constant leave
    nothing (a spread of 0), and noise leaves nothing correlated, while an honest attempt with a wrong sign,
    objective or step size is correlated."""
    def engaged(student, reference, context) -> bool:
        s, r = np.asarray(student[key], np.float64), np.asarray(reference[key], np.float64)
        if s.shape != r.shape or not np.isfinite(s).all():
            return False
        s, r = s.ravel(), r.ravel()
        if start is not None:
            x = np.asarray(getattr(start(context), "numpy", lambda: start(context))(), np.float64).ravel()
            if x.shape != s.shape:
                return False
            if changes:
                s, r = s - x, r - x
            design = np.stack([x - x.mean(), np.ones_like(x)], axis=1)
            s = s - design @ np.linalg.lstsq(design, s, rcond=None)[0]
        scale = max(float(np.abs(r).max()), 1e-30)
        if s.std() <= 1e-5 * scale or r.std() == 0:
            return False
        return abs(float(np.corrcoef(s, r)[0, 1])) >= max(0.1, 5 / np.sqrt(s.size))
    return engaged


def no_work_message(function: str) -> str:
    """Why a gated check earned nothing."""
    return (f"this counts only once {function} does its work: none of its main checks passed, and its result does "
            f"not follow the model (the input returned unchanged, a constant or noise earns no points here).")


def did_work(assignment: Assignment, function: str, passed: Mapping[str, bool], outputs: Mapping[str, object],
             reference: Mapping[str, object], context) -> bool:
    """Whether ``function`` did its work: a check in :meth:`Assignment.work_checks` passed (``passed``: check name
    -> passed), or the :attr:`Probe.engaged` of one of its probes says so (``outputs``/``reference``: probe name ->
    arrays, ``None`` where the probe failed). A function with no work checks is not gated."""
    work = assignment.work_checks(function)
    if not work or any(passed.get(c.name, False) for c in work):
        return True
    for probe in {c.probe.name: c.probe for c in assignment.checks_for(function)}.values():
        got = outputs.get(probe.name)
        if probe.engaged is None or got is None:
            continue
        try:
            with np.errstate(all="ignore"):
                if bool(probe.engaged(got, reference[probe.name], context)):
                    return True
        except Exception:   # noqa: BLE001 - outputs the verdict cannot read engage nothing
            continue
    return False
