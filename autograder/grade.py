"""Grading one submission: extract its cells, observe them in the sandbox, verify every check in this process.

The verdicts come only from trusted code here, on arrays that crossed back as data; nothing the student's process
printed or patched takes part.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .check import Assignment, Figure
from .extract import UnreadableNotebook, defines, notebook_cells
from .sandbox import Observation, observe
from .sandbox import Limits, Sandbox


@dataclass(frozen=True)
class CheckResult:
    name: str
    function: str
    description: str
    points: float
    max_points: float
    message: str

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass
class SubmissionResult:
    """One student's grade for one assignment (what the CSV row and the feedback page are made from)."""
    student: str
    assignment: str
    submission: str
    sha256: str
    grader_key: str
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    output_tail: str = ""
    output_bytes: int = 0
    isolation: str = ""

    @property
    def total(self) -> float:
        return float(sum(c.points for c in self.checks))

    @property
    def max(self) -> float:
        return float(sum(c.max_points for c in self.checks))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SubmissionResult":
        data = json.loads(text)
        data["checks"] = [CheckResult(**c) for c in data["checks"]]
        return cls(**data)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _with_cell_hint(message: str, function: str, cells, cell_errors: dict[str, str]) -> str:
    """Add why a function is undefined when one of the cells that define it failed."""
    if "is not defined" not in message:
        return message
    failed = [cell_errors[c.name] for c in cells if c.name in cell_errors and
              (c.name == function or defines(c.source, function))]
    return message + (f" Its cell failed: {failed[0]}" if failed else "")


def verify_all(assignment: Assignment, obs: Observation, reference: dict, context, limits: Limits,
               cells=()) -> tuple[list[CheckResult], dict[str, tuple[Figure, ...]]]:
    """Every check's points and message (and pictures) from the observed probe outputs."""
    results, figures = [], {}
    for check in assignment.checks:
        outputs, error = obs.probes[check.probe.name]
        passed, message = False, error
        if outputs is not None:
            try:
                verdict = check.verify(outputs, reference[check.probe.name], context, check.tolerance)
                passed, message, figures[check.name] = verdict.passed, verdict.message, verdict.figures
            except Exception as err:  # arrays the checks did not expect (wrong keys, dtypes...)
                message = f"your output could not be checked ({type(err).__name__}: {str(err)[:200]})."
        elif "MemoryError" in message:
            message += f" (the grader allows {limits.memory_mb} MB)"
        message = _with_cell_hint(message, check.function, cells, obs.cell_errors)
        results.append(CheckResult(check.name, check.function, check.description,
                                   float(check.points) if passed else 0.0, float(check.points), message))
    return results, figures


def grade_notebook(path: Path, student: str, assignment: Assignment, reference: dict, context, grader_key: str,
                   limits: Limits, device: str, sandbox: Sandbox) -> tuple[SubmissionResult, dict[str, tuple[Figure, ...]]]:
    """Grade the notebook at ``path`` (see the module docstring). Raises only for grader failures."""
    path = Path(path)
    result = SubmissionResult(student, assignment.id, str(path), file_sha256(path), grader_key, [],
                              isolation=sandbox.level)
    try:
        cells = notebook_cells(path, assignment.functions)
    except UnreadableNotebook as err:
        message = f"Your notebook could not be read: {err}"
        result.checks = [CheckResult(c.name, c.function, c.description, 0.0, float(c.points), message)
                         for c in assignment.checks]
        result.notes.append(message)
        return result, {}
    obs = observe(cells, assignment, limits, device, sandbox)
    result.checks, figures = verify_all(assignment, obs, reference, context, limits, cells)
    result.notes += [f"{message}" for message in obs.cell_errors.values()] + obs.notes
    result.output_tail, result.output_bytes = obs.output_tail, obs.output_bytes
    return result, figures
