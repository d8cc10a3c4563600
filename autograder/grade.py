"""Grading one submission: read its file, extract its cells, observe them in the sandbox, verify every check here.

The verdicts come only from trusted code here, on arrays that crossed back as data; nothing the student's process
printed or patched takes part. Nothing that comes from the student (the file, its name, its cells, the arrays and
messages that come back) can raise here: the unexpected becomes a failed check with a message.

- A submission is read only if it is a regular file (never through a symbolic link, never a FIFO or device),
  after its size is checked (``read_submission``).
- A verdict that passes although the student's outputs hold NaN or inf fails (``verify_all``: every check but a
  side-effect check); a check that calls :func:`autograder.arrays.require_finite` on anything it computes fails
  with that message when it is not finite.
"""
from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .check import Assignment, Figure, SubmissionError, did_work, no_work_message
from .extract import MAX_NOTEBOOK_BYTES, UnreadableNotebook, defines, solution_cells
from .sandbox import Observation, observe
from .sandbox import Limits, Sandbox
from .text import clean_text


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
    graded: bool = True
    """False when the grader itself failed on this submission: the row says 0, and the next run grades it again."""

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


def read_submission(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of the submission at ``path``: a regular file, opened without following a symbolic link in its
    last component and without blocking (a FIFO), its size checked before reading.

    Raises:
        UnreadableNotebook: anything else, with a message for the student.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP or os.path.islink(path):
            raise UnreadableNotebook("the submission is a symbolic link, not a notebook file; submit the notebook "
                                     "itself.") from None
        raise UnreadableNotebook(f"could not open the file ({clean_text(err.strerror or err, 200)}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableNotebook("the submission is not a regular file (a folder, a pipe or a device); submit "
                                     "the notebook file itself.")
        if info.st_size > max_bytes:
            raise UnreadableNotebook(f"the notebook is larger than {max_bytes // 2**20} MB; clear its outputs (Edit "
                                     "> Clear all outputs) and submit again.")
        chunks, size = [], 0
        while size <= max_bytes:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise UnreadableNotebook(f"the notebook is larger than {max_bytes // 2**20} MB; clear its outputs and "
                                     "submit again.")
        return b"".join(chunks)
    except OSError as err:
        raise UnreadableNotebook(f"could not read the file ({clean_text(err.strerror or err, 200)}).") from None
    finally:
        os.close(fd)


def submission_sha256(path: Path) -> str:
    """The SHA-256 of the submission's bytes as :func:`read_submission` reads them (``""`` when unreadable)."""
    try:
        return hashlib.sha256(read_submission(path)).hexdigest()
    except UnreadableNotebook:
        return ""


def file_sha256(path: Path) -> str:
    return submission_sha256(path)


MAX_CONTAINERS = 500_000   # JSON objects and arrays in one notebook (a real one has thousands)
MAX_DEPTH = 100             # their nesting (a notebook needs about 10)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_shape_problem(data: bytes) -> str | None:
    """Why ``data`` would cost the parser far more memory than a notebook of its size should (too many JSON
    containers, or nested too deeply), judged from its bytes BEFORE parsing; else ``None``."""
    skeleton = _STRING.sub(b'""', data)
    containers = skeleton.count(b"{") + skeleton.count(b"[")
    if containers > MAX_CONTAINERS:
        return (f"the file holds {containers} JSON objects and lists; a notebook has a few thousand (the grader "
                f"reads at most {MAX_CONTAINERS}). Clear its outputs and submit again.")
    depth = deepest = 0
    marks = np.frombuffer(skeleton, dtype=np.uint8)
    for start in range(0, len(marks), 1 << 22):
        chunk = marks[start:start + (1 << 22)]
        steps = (chunk == ord("{")).astype(np.int32) + (chunk == ord("[")) - (chunk == ord("}")) - (chunk == ord("]"))
        if steps.size:
            running = np.cumsum(steps, dtype=np.int64) + depth
            deepest, depth = max(deepest, int(running.max())), int(running[-1])
    if deepest > MAX_DEPTH:
        return (f"the file is nested too deeply to be a notebook ({deepest} levels; a notebook needs about 10, the "
                f"grader reads {MAX_DEPTH}).")
    return None


def decode_notebook_text(data: bytes) -> str:
    """The text of a notebook file: UTF-8 (with or without a byte-order mark), or UTF-16/32 with a byte-order
    mark (what some editors save). Raises UnreadableNotebook."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not UTF-8 text (nor UTF-16 with a byte-order mark); was it saved as "
                                 "a notebook?") from None


def as_nbformat4(nb: dict) -> dict:
    """An nbformat 3 notebook (cells in ``worksheets``, code in ``input``) as nbformat 4 reads it; others as is."""
    if nb.get("nbformat") == 3 and isinstance(nb.get("worksheets"), list) and "cells" not in nb:
        cells = []
        for sheet in nb["worksheets"]:
            for cell in (sheet.get("cells") if isinstance(sheet, dict) else None) or []:
                if isinstance(cell, dict):
                    cell = dict(cell)
                    if cell.get("cell_type") == "code" and "source" not in cell:
                        cell["source"] = cell.get("input", "")
                    cells.append(cell)
        return {**nb, "cells": cells}
    return nb


def parse_cells(data: bytes, functions: tuple[str, ...]):
    """The graded cells of a notebook file's bytes (``extract.solution_cells``). Raises UnreadableNotebook."""
    text = decode_notebook_text(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    problem = json_shape_problem(data if data[:1] == b"{" else text.encode("utf-8", "surrogatepass"))
    if problem:
        raise UnreadableNotebook(problem)
    try:
        nb = as_nbformat4(json.loads(text))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not UTF-8 text; was it saved as a notebook?") from None
    except RecursionError:
        raise UnreadableNotebook("the file is nested too deeply to be a notebook.") from None
    except json.JSONDecodeError as err:
        raise UnreadableNotebook(f"the file is not a valid notebook (JSON error at line {err.lineno}, column "
                                 f"{err.colno}: {err.msg}). Was it saved completely?") from None
    except (ValueError, MemoryError) as err:
        raise UnreadableNotebook(f"the file could not be read as a notebook ({type(err).__name__}).") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook("the file is JSON but not a Jupyter notebook (no list of cells).")
    try:
        return solution_cells(nb, functions)
    except Exception as err:   # a notebook shaped in a way the extraction did not expect
        raise UnreadableNotebook(f"its cells could not be read ({type(err).__name__}).") from None


def zero_result(result: "SubmissionResult", assignment: Assignment, message: str) -> "SubmissionResult":
    """``result`` with every check at 0 points and ``message`` (as the check messages and a note)."""
    result.checks = [CheckResult(c.name, c.function, c.description, 0.0, float(c.points), message)
                     for c in assignment.checks]
    result.notes.append(message)
    return result


def unreadable_result(result: "SubmissionResult", assignment: Assignment, err: UnreadableNotebook) -> "SubmissionResult":
    """``result`` as a row of zeros for a notebook that cannot be read (``err`` says why, for the student)."""
    return zero_result(result, assignment, f"Your notebook could not be read: {clean_text(err, 1000)}")


def _with_cell_hint(message: str, function: str, cells, cell_errors: dict[str, str]) -> str:
    """Add why a function is undefined when one of the cells that define it failed."""
    if "is not defined" not in message:
        return message
    failed = [cell_errors[c.name] for c in cells if c.name in cell_errors and
              (c.name == function or defines(c.source, function))]
    return message + (f" Its cell failed: {failed[0]}" if failed else "")


def _nonfinite_problem(outputs) -> str | None:
    """A message naming the first student array holding NaN or inf, else ``None``."""
    for key, array in outputs.items():
        if isinstance(array, np.ndarray) and array.dtype.kind in "fc" and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            return (f"your output `{clean_text(key, 60)}` contains {bad} NaN or infinite value"
                    f"{'s' if bad != 1 else ''}: every value must be a finite number.")
    return None


def _verdict(check, outputs, reference, context) -> tuple[bool, str, tuple[Figure, ...]]:
    """(passed, message, figures) of one check; never raises."""
    try:
        with np.errstate(all="ignore"):
            verdict = check.verify(outputs, reference, context, check.tolerance)
        passed = isinstance(verdict.passed, (bool, np.bool_)) and bool(verdict.passed)
        message, figures = clean_text(verdict.message, 2000), tuple(verdict.figures)
    except SubmissionError as err:   # e.g. arrays.require_finite on something the check computed
        return False, clean_text(err, 1000), ()
    except Exception as err:  # arrays the checks did not expect (wrong keys, dtypes...)
        return False, f"your output could not be checked ({type(err).__name__}: {clean_text(err, 200)}).", ()
    if passed and not check.side_effect:
        problem = _nonfinite_problem(outputs)
        if problem:
            return False, problem, figures
    return passed, message, figures


def verify_all(assignment: Assignment, obs: Observation, reference: dict, context, limits: Limits,
               cells=()) -> tuple[list[CheckResult], dict[str, tuple[Figure, ...]]]:
    """Every check's points and message (and pictures) from the observed probe outputs. A check passes only
    when its verdict says so and, unless it is a side-effect check, no output of its probe is NaN or inf; a
    :attr:`~autograder.check.Check.gated` check (side effects, properties a no-work answer has) also needs its
    function to have done its work (:func:`~autograder.check.did_work`)."""
    results, figures, verdicts = [], {}, {}
    for check in assignment.checks:
        outputs, error = obs.probes.get(check.probe.name, (None, "no result came back from your code."))
        passed, message = False, clean_text(error or "no result came back from your code.", 1000)
        if outputs is not None:
            passed, message, figures[check.name] = _verdict(check, outputs, reference[check.probe.name], context)
        elif "MemoryError" in message:
            message += f" (the grader allows {limits.memory_mb} MB)"
        verdicts[check.name] = (passed, _with_cell_hint(message, check.function, cells, obs.cell_errors))
    passed_by_name = {name: passed for name, (passed, _) in verdicts.items()}
    outputs_by_probe = {name: outputs for name, (outputs, _) in obs.probes.items()}
    worked: dict[str, bool] = {}
    for check in assignment.checks:
        passed, message = verdicts[check.name]
        if passed and check.gated:
            if check.function not in worked:
                worked[check.function] = did_work(assignment, check.function, passed_by_name, outputs_by_probe,
                                                  reference, context)
            if not worked[check.function]:
                passed, message = False, no_work_message(check.function)
                figures.pop(check.name, None)
        results.append(CheckResult(check.name, check.function, check.description,
                                   float(check.points) if passed else 0.0, float(check.points), message))
    return results, figures


def grade_notebook(path: Path, student: str, assignment: Assignment, reference: dict, context, grader_key: str,
                   limits: Limits, device: str, sandbox: Sandbox) -> tuple[SubmissionResult, dict[str, tuple[Figure, ...]]]:
    """Grade the notebook at ``path`` (see the module docstring). Raises only for grader failures
    (``sandbox.GraderError``)."""
    path = Path(path)
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    result = SubmissionResult(student, assignment.id, shown, "", grader_key, [], isolation=sandbox.level)
    try:
        data = read_submission(path)
        result.sha256 = hashlib.sha256(data).hexdigest()
        cells = parse_cells(data, assignment.functions)
    except UnreadableNotebook as err:
        return unreadable_result(result, assignment, err), {}
    del data
    obs = observe(cells, assignment, limits, device, sandbox)
    result.checks, figures = verify_all(assignment, obs, reference, context, limits, cells)
    result.notes += list(obs.cell_errors.values()) + obs.notes
    result.output_tail, result.output_bytes = obs.output_tail, obs.output_bytes
    return result, figures
