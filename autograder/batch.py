"""Grading a batch: find the submissions, grade them in parallel, keep results resumable, write the CSV.

Each finished submission leaves ``<feedback>/<student>.html`` and then ``<feedback>/.results/<student>.json``,
both written atomically (temporary file + rename); the JSON is the "done" mark. A rerun skips a student whose JSON
matches the submission's hash and the grader's version, unless ``force``. The CSV is rebuilt from the JSON files.
"""
from __future__ import annotations

import csv
import io
import os
import queue
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .check import Assignment
from .feedback import render
from .grade import SubmissionResult, file_sha256, grade_notebook, verify_all
from .sandbox import GraderError, Observation
from .reference import cache_key, reference_outputs
from .sandbox import Limits, Sandbox, isolation


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def find_submissions(paths, assignment: Assignment) -> list[Submission]:
    """Submissions in ``paths``: notebook files (student = file stem), folders of notebooks, or nbgrader's
    ``submitted/<student>/<assignment>/<notebook>.ipynb`` layout (given as the ``submitted`` folder or as such
    files; student = the ``<student>`` folder's name).

    Raises:
        ValueError: a path that does not exist, no submission at all, or two submissions for one student.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            nbgrader = path.parent.name == assignment.id and path.resolve().parents[2].name == "submitted"
            found.append(Submission(path.parent.parent.name if nbgrader else path.stem, path))
        elif path.is_dir():
            layout = sorted(path.glob(f"*/{assignment.id}/*.ipynb"))
            if layout:
                found += [Submission(p.parent.parent.name, p) for p in layout
                          if p.name == assignment.notebook or len(list(p.parent.glob("*.ipynb"))) == 1]
            else:
                found += [Submission(p.stem, p) for p in sorted(path.glob("*.ipynb")) if not p.name.startswith(".")]
        else:
            raise ValueError(f"submission path not found: {path}")
    students = [s.student for s in found]
    duplicates = sorted({s for s in students if students.count(s) > 1})
    if duplicates:
        raise ValueError(f"more than one submission for: {', '.join(duplicates)}; grade them separately.")
    if not found:
        raise ValueError(f"no .ipynb submissions found in {', '.join(map(str, paths))}.")
    return sorted(found, key=lambda s: s.student)


def safe_name(student: str) -> str:
    """A file name for ``student`` (letters, digits, ``.``, ``-``, ``_``)."""
    return re.sub(r"[^\w.-]", "_", student).lstrip(".") or "_"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def result_path(feedback: Path, student: str) -> Path:
    return feedback / ".results" / f"{safe_name(student)}.json"


def load_result(feedback: Path, submission: Submission, grader_key: str) -> SubmissionResult | None:
    """The stored result of ``submission`` if it is up to date, else ``None``."""
    path = result_path(feedback, submission.student)
    try:
        result = SubmissionResult.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    fresh = result.grader_key == grader_key and result.sha256 == file_sha256(submission.path)
    return result if fresh and result.student == submission.student else None


def csv_text(results: list[SubmissionResult], assignment: Assignment) -> str:
    """``student, assignment, <one column per check>, total, max``; one row per student, sorted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "assignment", *(c.name for c in assignment.checks), "total", "max"])
    for r in sorted(results, key=lambda r: r.student):
        points = {c.name: c.points for c in r.checks}
        writer.writerow([r.student, r.assignment, *(f"{points.get(c.name, 0):g}" for c in assignment.checks),
                         f"{r.total:g}", f"{r.max:g}"])
    return out.getvalue()


def self_check(assignment: Assignment, reference: dict, context) -> None:
    """The reference outputs must pass every check; otherwise the checks or the solution are broken."""
    obs = Observation(probes={name: (arrays, None) for name, arrays in reference.items()})
    results, _ = verify_all(assignment, obs, reference, context, Limits())
    failed = [f"{r.name}: {r.message}" for r in results if not r.passed]
    if failed:
        raise RuntimeError("the solution's own outputs fail these checks:\n" + "\n".join(failed))


def grade_batch(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path,
                workers: int = 1, limits: Limits = Limits(), device: str = "cpu", force: bool = False,
                log=print) -> list[SubmissionResult]:
    """Grade ``submissions`` (see the module docstring); returns every result, sorted by student."""
    feedback, out_csv = Path(feedback), Path(out_csv)
    reference = reference_outputs(assignment)
    context = assignment.make_context("cpu")
    self_check(assignment, reference, context)
    key, level = cache_key(assignment), isolation()
    done = {s.student: r for s in submissions if not force and (r := load_result(feedback, s, key)) is not None}
    todo = [s for s in submissions if s.student not in done]
    log(f"{assignment.id}: {len(submissions)} submission(s), {len(done)} already graded, {len(todo)} to grade "
        f"with {workers} worker(s), isolation: {level}, device: {device}.")
    sandboxes = [Sandbox(slot, level, limits.threads) for slot in range(workers)]
    free: queue.Queue[Sandbox] = queue.Queue()
    for sandbox in sandboxes:
        free.put(sandbox)
    failures: list[str] = []

    def work(submission: Submission) -> SubmissionResult | None:
        sandbox, start = free.get(), time.monotonic()
        try:
            result, figures = grade_notebook(submission.path, submission.student, assignment, reference, context,
                                             key, limits, device, sandbox)
            write_atomic(feedback / f"{safe_name(submission.student)}.html", render(result, figures))
            write_atomic(result_path(feedback, submission.student), result.to_json())
            log(f"  {submission.student}: {result.total:g} / {result.max:g}  ({time.monotonic() - start:.1f} s)")
            return result
        except (GraderError, OSError, RuntimeError) as err:   # the grader's problem: not saved, graded next time
            failures.append(f"{submission.student}: {err}")
            log(f"  {submission.student}: NOT GRADED ({type(err).__name__}: {str(err)[:300]})")
            return None
        finally:
            free.put(sandbox)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            graded = [r for r in pool.map(work, todo) if r is not None]
    finally:
        for sandbox in sandboxes:
            sandbox.close()
    results = sorted([*done.values(), *graded], key=lambda r: r.student)
    write_atomic(out_csv, csv_text(results, assignment))
    if failures:
        print(f"{len(failures)} submission(s) could not be graded (rerun to retry):", *failures, sep="\n  ",
              file=sys.stderr)
    return results
