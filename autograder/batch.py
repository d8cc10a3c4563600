"""Grading a batch: ONE lifecycle (discovery and ids, result store and CSV, skip/resume, progress, failure rows)
and an executor that only maps a submission to its result: the local pool here (:class:`LocalPool`, ``--workers
N``), a Dask cluster in :mod:`autograder.distributed` (``--scheduler``). Both call :func:`grade_submission` on a
warm sandbox and hand back :class:`Outcome` s; everything written to disk is written here, by :func:`run_batch`,
so ``--scheduler local:2`` and ``--workers 2`` write the same CSV by construction.

Each finished submission leaves ``<feedback>/<name>.html`` and then ``<feedback>/.results/<name>.json`` (``name =
safe_name(student)``), both written atomically (temporary file + rename); the JSON is the "done" mark. A rerun
skips a student whose JSON matches the submission's hash and the grader's version, unless ``force``. The CSV is
rebuilt from the results.

Every submission gets a row, whatever it does: a submission the grader itself failed on (its launcher died...) is
tried once more, then gets a row of zeros with the reason on its page, ``graded=False`` and no "done" mark, so the
next run grades it again; the batch always finishes.

Student ids (``student_id``) are the submission's file or folder name, with every byte that is not printable
UTF-8 text, and ``%`` itself, written as ``%xx``: unique, and reversible (``urllib.parse.unquote_to_bytes(id)`` is
the name's bytes). File names (``safe_name``) keep ``[a-z0-9_.-]`` and escape the rest (capitals included), so two ids
never share a file, even on a case-insensitive file system. CSV text cells
that a spreadsheet would read as a formula (``= + - @``, tab, CR first) start with ``'`` (``csv_cell``).
Submissions are regular files only: a symbolic link (in the file or in the folders of nbgrader's layout), a FIFO
or a device gets a row of zeros saying so, and is never read through.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import io
import os
import queue
import re
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from .check import Assignment
from .grade import SubmissionResult, grade_notebook, submission_sha256, verify_all, zero_result
from .progress import Progress
from .reference import forget_digests, mark_self_checked, reference_outputs, self_checked
from .sandbox import GraderError, Limits, Observation, Sandbox, enforcement, isolation
from .sandbox_host import grader_host


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    problem: str | None = None
    """Why this submission cannot be read at all (reached through a symbolic link...): it gets a row of zeros."""


def student_id(name: str | bytes) -> str:
    """A printable, unique, reversible id for a file or folder name (see the module docstring)."""
    raw = os.fsencode(name) if isinstance(name, str) else bytes(name)
    out = []
    text = raw.decode("utf-8", "surrogateescape")
    nfc = unicodedata.is_normalized("NFC", text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:              # a byte that is not UTF-8
            out.append(f"%{code - 0xDC00:02x}")
        elif ch == "%" or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or \
                (not nfc and unicodedata.combining(ch)):   # NFD "e\u0301" must not look like NFC "\u00e9"
            out.append("".join(f"%{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return "".join(out) or "%"


_KEEP = re.compile(r"[a-z0-9_.-]")


def safe_name(student: str) -> str:
    """The file name stem of ``student``'s feedback page and result: every character but ``[a-z0-9_.-]`` (capitals
    too) and a leading ``.`` as ``%xx`` of its UTF-8 bytes, so distinct ids never map to one file, not even on a
    case-insensitive file system; ids longer than 150 such characters end in a 128-bit hash instead."""
    stem = "".join(ch if _KEEP.fullmatch(ch) else "".join(f"%{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
                   for ch in student)
    if stem.startswith("."):
        stem = "%2e" + stem[1:]
    if len(stem) > 150:
        stem = stem[:120] + "~" + hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return stem or "%"


def _regular_notebooks(folder: Path) -> list[Path]:
    """``*.ipynb`` entries of ``folder`` (``.hidden.ipynb`` and ``....ipynb`` too), whatever their type; nothing
    is followed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.name.endswith(".ipynb")]   # hidden ones too: every one gets a row


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _nbgrader_layout(root: Path, assignment: Assignment) -> list[Submission]:
    """``<root>/<student>/<assignment id>/<notebook>.ipynb`` (nbgrader's submitted/ folder)."""
    found = []
    for student_dir in sorted(root.iterdir(), key=lambda p: os.fsencode(p.name)):
        folder = student_dir / assignment.id
        if not folder.exists() and not folder.is_symlink():
            continue
        student = student_id(student_dir.name)
        if student_dir.is_symlink() or folder.is_symlink() or not _real_dir(folder):
            found.append(Submission(student, folder, "the submission folder is a symbolic link or not a folder; "
                                                     "it was not followed."))
            continue
        notebooks = _regular_notebooks(folder)
        chosen = [p for p in notebooks if p.name == assignment.notebook] or (notebooks if len(notebooks) == 1 else [])
        if chosen:
            found.append(Submission(student, chosen[0]))
        elif notebooks:
            found.append(Submission(student, folder, f"several notebooks and none called {assignment.notebook}."))
    return found


def find_submissions(paths, assignment: Assignment) -> list[Submission]:
    """Submissions in ``paths``: notebook files (student = file stem), folders of notebooks, or nbgrader's
    ``submitted/<student>/<assignment>/<notebook>.ipynb`` layout (given as the ``submitted`` folder or as such
    files; student = the ``<student>`` folder's name). Ids are made with :func:`student_id`.

    Raises:
        ValueError: a path that does not exist, no submission at all, or two submissions for one student.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ValueError(f"submission path not found: {os.fsencode(path).decode('utf-8', 'replace')}")
        if _real_dir(path):
            layout = [p for p in path.iterdir() if _real_dir(p) and (p / assignment.id).exists()]
            found += _nbgrader_layout(path, assignment) if layout else \
                [Submission(student_id(p.name[:-len(".ipynb")]), p) for p in _regular_notebooks(path)]
        else:
            absolute = Path(os.path.abspath(path))
            nbgrader = absolute.parent.name == assignment.id and len(absolute.parents) > 2 and \
                absolute.parents[2].name == "submitted"
            name = absolute.parent.parent.name if nbgrader else (path.name[:-6] if path.name.endswith(".ipynb")
                                                                  else path.name)
            found.append(Submission(student_id(name), path))
    students = [s.student for s in found]
    duplicates = sorted({s for s in students if students.count(s) > 1})
    if duplicates:
        raise ValueError(f"more than one submission for: {', '.join(duplicates)}; grade them separately.")
    if not found:
        shown = ", ".join(os.fsencode(p).decode("utf-8", "replace") for p in paths)
        raise ValueError(f"no .ipynb submissions found in {shown}.")
    return sorted(found, key=lambda s: s.student)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def result_path(feedback: Path, student: str) -> Path:
    return feedback / ".results" / f"{safe_name(student)}.json"


def feedback_path(feedback: Path, student: str) -> Path:
    return feedback / f"{safe_name(student)}.html"


def load_result(feedback: Path, submission: Submission, grader_key: str) -> SubmissionResult | None:
    """The stored result of ``submission`` if it is up to date, else ``None``."""
    path = result_path(feedback, submission.student)
    try:
        result = SubmissionResult.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if submission.problem is not None:
        return None
    fresh = result.grader_key == grader_key and result.sha256 == submission_sha256(submission.path)
    return result if fresh and result.student == submission.student and result.graded else None


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """``text`` made safe for a spreadsheet: a leading ``'`` when it would start a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def csv_text(results: list[SubmissionResult], assignment: Assignment) -> str:
    """``student, assignment, <one column per check>, total, max``; one row per student, sorted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "assignment", *(c.name for c in assignment.checks), "total", "max"])
    for r in sorted(results, key=lambda r: r.student):
        points = {c.name: c.points for c in r.checks}
        writer.writerow([csv_cell(r.student), csv_cell(r.assignment),
                         *(f"{points.get(c.name, 0):g}" for c in assignment.checks), f"{r.total:g}", f"{r.max:g}"])
    return out.getvalue()


def trusted_reference(assignment: Assignment, context, reference: dict | None = None, key: str | None = None) -> dict:
    """The reference outputs (``reference``, when the caller already has them from ``reference_outputs`` with
    ``store=True``), self-checked: a reference (from the cache) that fails its own checks is dropped and computed
    again once, so a poisoned cache costs a recomputation, never the batch. With ``key``, the trusted state folder
    records that the cached file passed (:func:`~autograder.reference.mark_self_checked`)."""
    if reference is None:
        reference = reference_outputs(assignment, store=True, key=key)
    try:
        self_check(assignment, reference, context)
    except RuntimeError:
        forget_digests(assignment)
        reference = reference_outputs(assignment, store=True, key=key)
        self_check(assignment, reference, context)
    if key is not None:
        mark_self_checked(assignment, key)
    return reference


def self_check(assignment: Assignment, reference: dict, context) -> None:
    """The reference outputs must pass every check; otherwise the checks or the solution are broken."""
    obs = Observation(probes={name: (arrays, None) for name, arrays in reference.items()})
    results, _ = verify_all(assignment, obs, reference, context, Limits())
    failed = [f"{r.name}: {r.message}" for r in results if not r.passed]
    if failed:
        raise RuntimeError("the solution's own outputs fail these checks:\n" + "\n".join(failed))


# ---------------------------------------------------------------------------------------------------------------
# One submission (what an executor maps)
# ---------------------------------------------------------------------------------------------------------------

def shown_path(path: Path) -> str:
    """The submission's path as its result and page show it."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


NOT_GRADED = ("The grader itself failed on this submission{why}; it is not your fault and it will be graded again "
              "on the next run.")


def not_graded_result(submission: Submission, assignment: Assignment, key: str, level: str,
                      error_type: str = "") -> SubmissionResult:
    """A row of zeros marked ``graded=False`` (the next run grades it again): the grader failed, not the student."""
    base = SubmissionResult(submission.student, assignment.id, shown_path(submission.path), "", key, [],
                            isolation=level, graded=False)
    return zero_result(base, assignment, NOT_GRADED.format(why=f" ({error_type})" if error_type else ""))


def problem_result(submission: Submission, assignment: Assignment, key: str, level: str) -> SubmissionResult:
    """A row of zeros for a submission that cannot be read at all (``submission.problem``); no sandbox needed."""
    base = SubmissionResult(submission.student, assignment.id, shown_path(submission.path), "", key, [],
                            isolation=level)
    return zero_result(base, assignment, f"Your submission could not be read: {submission.problem}")


def grade_submission(submission: Submission, assignment: Assignment, reference: dict, context, key: str,
                     limits: Limits, device: str, sandbox: Sandbox):
    """``(result, figures, failure)`` of one readable submission on a warm ``sandbox``: ``grade_notebook``, tried
    once more after a grader failure, then a row of zeros with ``graded=False`` and ``failure`` saying why. Never
    raises (but KeyboardInterrupt). Every executor calls this."""
    error: BaseException | None = None
    for _ in range(2):
        try:
            result, figures = grade_notebook(submission.path, submission.student, assignment, reference, context,
                                             key, limits, device, sandbox)
            return result, figures, None
        except GraderError as err:   # the grader's own failure (its launcher died...): once more
            error = err
        except Exception as err:     # a bug of ours that this submission triggers: never stop the batch for it
            error = err
            break
    result = not_graded_result(submission, assignment, key, sandbox.level, type(error).__name__)
    return result, {}, f"{type(error).__name__}: {str(error)[:300]}"


def feedback_page(result: SubmissionResult, figures) -> str:
    """The feedback page; without pictures (and a note saying so) when one cannot be drawn."""
    from .feedback import render

    try:
        return render(result, figures)
    except Exception as err:   # a figure or text we did not foresee
        result.notes.append(f"(pictures left out: {type(err).__name__})")
        return render(result, {})


@dataclass
class Outcome:
    """What an executor hands back for one submission: its result, its rendered page, why the grader failed on it
    (``None`` when graded) and a detail for the log line (time, worker)."""
    submission: Submission
    result: SubmissionResult
    page: str
    failure: str | None = None
    detail: str = ""


class Executor(Protocol):
    """Maps submissions to :class:`Outcome` s; writes nothing. ``level``: the isolation its sandboxes have (rows
    of unreadable submissions carry it); ``unjailed``: student code may have run as this user (the reference
    cache is then forgotten after the batch)."""

    level: str
    #: does :meth:`grade` use this process's context (False: it grades elsewhere, see ``_context_and_reference``)
    needs_context: bool = True

    def open(self, assignment: Assignment, todo: list[Submission]) -> None:
        """Start what needs starting (warm sandboxes, workers) before the reference is computed."""

    def describe(self) -> tuple[str, list[str]]:
        """(``"with 2 worker(s), isolation: namespaces"``, what cannot be limited per submission)."""

    def grade(self, todo: list[Submission], assignment: Assignment, reference: dict, context, key: str,
              note=print) -> Iterator[Outcome]:
        """One outcome per submission of ``todo`` (all readable as far as discovery knows), as each finishes;
        ``note`` logs what is not an outcome (a task submitted again)."""

    @property
    def unjailed(self) -> bool:
        """Did student code run without a namespace jail (as the grader's own user)?"""

    def close(self) -> None:
        """Stop everything :meth:`open` started (also after an interruption)."""


# ---------------------------------------------------------------------------------------------------------------
# The lifecycle
# ---------------------------------------------------------------------------------------------------------------

def _context_and_reference(assignment: Assignment, early: ThreadPoolExecutor, pending: Future | None,
                           key: str, needs_context: bool = True) -> tuple:
    """(context, self-checked reference outputs): the reference (``pending``, or now, on ``early``) is computed
    in its trusted process while this process builds the context, so the two overlap on separate cores.

    An executor that grades elsewhere (``needs_context`` False: a Dask cluster, whose workers build their own)
    gets ``(None, reference)`` when the trusted state folder records that this very cached file passed the
    self-check (:func:`~autograder.reference.self_checked`): this process then never imports torch."""
    if pending is None:
        pending = early.submit(reference_outputs, assignment, store=True, key=key)
    if not needs_context:
        reference = pending.result()
        if self_checked(assignment, key):
            return None, reference
    context = assignment.make_context("cpu")
    return context, trusted_reference(assignment, context, pending.result(), key)


def run_batch(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path,
              executor: Executor, force: bool = False, log=print, progress: bool | None = None,
              device: str = "cpu") -> list[SubmissionResult]:
    """Grade ``submissions`` with ``executor`` (see the module docstring): skip those whose stored result is up to
    date, compute and self-check the reference once, write each outcome's page and then (graded only) its result,
    and the CSV from one result per student. Returns them sorted by student (``graded=False`` for those the grader
    failed on)."""
    from .reference import cache_key  # looked up at call time (tests pin it)

    feedback, out_csv = Path(feedback), Path(out_csv)
    # Sandboxes and workers start first, while this process imports torch, hashes the key and computes the
    # reference; before the key is known, only for submissions that have no stored result at all (a resumed batch
    # whose results are all up to date starts nothing).
    unstored = [s for s in submissions if force or not result_path(feedback, s.student).exists()]
    opened = any(s.problem is None for s in unstored)
    early = ThreadPoolExecutor(max_workers=1)
    collecting = gc.isenabled()
    gc.disable()   # set-up imports torch and builds the context: millions of objects, no garbage (~15 % faster)
    try:
        pending = None
        if opened:
            executor.open(assignment, unstored)
        key = cache_key(assignment)   # imports neither torch nor hwlib: a tenth of a second
        if opened:   # then the reference is needed too: its trusted process starts now as well
            pending = early.submit(reference_outputs, assignment, store=True, key=key)
        done = {s.student: r for s in submissions if not force and (r := load_result(feedback, s, key)) is not None}
        todo = [s for s in submissions if s.student not in done]
        if not opened:
            executor.open(assignment, todo)
        readable = [s for s in todo if s.problem is None]
        context, reference = _context_and_reference(assignment, early, pending, key,
                                                    getattr(executor, "needs_context", True)) \
            if readable else (None, {})
        described, weak = executor.describe()
    except BaseException:
        executor.close()
        raise
    finally:
        early.shutdown(wait=True, cancel_futures=True)
        if collecting:
            gc.enable()
    log(f"{assignment.id}: {len(submissions)} submission(s), {len(done)} already graded, {len(todo)} to grade "
        f"{described}, device: {device}.")
    if weak and todo:
        warning = "WARNING: no control groups for: " + "; ".join(weak)
        log(warning)
        print(warning, file=sys.stderr)
    results: dict[str, SubmissionResult] = dict(done)
    failures: list[str] = []
    bar = Progress(len(todo), desc=assignment.id, already=len(done), enabled=progress)   # on a terminal only
    log = bar.wrap(log)

    def finish(outcome: Outcome) -> None:
        """Write one submission's page, then (graded only) its result: each atomically, each student once."""
        submission, result = outcome.submission, outcome.result
        if result.student != submission.student or submission.student in results:
            raise RuntimeError(f"a second result for {submission.student!r} (or one for {result.student!r}) came back")
        write_atomic(feedback_path(feedback, submission.student), outcome.page)
        if outcome.failure is None:
            write_atomic(result_path(feedback, submission.student), result.to_json())
        else:
            failures.append(f"{submission.student}: {outcome.failure}")
        results[submission.student] = result
        state = "NOT GRADED (grader failure, graded again next run)" if outcome.failure else \
            f"{result.total:g} / {result.max:g}"
        log(f"  {submission.student}: {state}{outcome.detail}")
        bar.update(ok=outcome.failure is None)

    try:
        for submission in todo:
            if submission.problem is not None:
                result = problem_result(submission, assignment, key, executor.level)
                finish(Outcome(submission, result, feedback_page(result, {})))
        for outcome in executor.grade(readable, assignment, reference, context, key, log) if readable else ():
            finish(outcome)
    finally:
        bar.close()
        executor.close()
        if todo and executor.unjailed:   # student code ran as this user: nothing it could write stays trusted
            forget_digests(assignment)
    ordered = sorted(results.values(), key=lambda r: r.student)
    write_atomic(out_csv, csv_text(ordered, assignment))
    if failures:
        print(f"{len(failures)} submission(s) could not be graded (rerun to retry):", *failures, sep="\n  ",
              file=sys.stderr)
    return ordered


# ---------------------------------------------------------------------------------------------------------------
# The local pool
# ---------------------------------------------------------------------------------------------------------------

class LocalPool:
    """``workers`` warm sandboxes (slots 0, 1, ...) in this process, one thread each."""

    def __init__(self, workers: int = 1, limits: Limits = Limits(), device: str = "cpu"):
        self.workers, self.limits, self.device = workers, limits, device
        self.level = isolation()
        self.sandboxes: list[Sandbox] = []
        self.pool: ThreadPoolExecutor | None = None

    def open(self, assignment: Assignment, todo: list[Submission]) -> None:
        host = grader_host()
        needed = any(s.problem is None for s in todo)
        self.sandboxes = [Sandbox(slot, self.level, self.limits.threads, host=host)
                          for slot in range(self.workers if needed else 0)]
        for sandbox in self.sandboxes:   # the launchers import torch and build the context while we do too
            sandbox.warm_up(assignment.id, self.device)

    def describe(self) -> tuple[str, list[str]]:
        return (f"with {self.workers} worker(s), isolation: {self.level}",
                enforcement(self.level, self.device))

    @property
    def unjailed(self) -> bool:
        return self.level == "none"

    def grade(self, todo: list[Submission], assignment: Assignment, reference: dict, context, key: str,
              note=print) -> Iterator[Outcome]:
        free: queue.Queue[Sandbox] = queue.Queue()
        for sandbox in self.sandboxes:
            free.put(sandbox)

        def work(submission: Submission) -> Outcome:
            sandbox, start = free.get(), time.monotonic()
            try:
                result, figures, failure = grade_submission(submission, assignment, reference, context, key,
                                                            self.limits, self.device, sandbox)
                return Outcome(submission, result, feedback_page(result, figures), failure,
                               f"  ({time.monotonic() - start:.1f} s)")
            finally:
                free.put(sandbox)

        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        pending = {self.pool.submit(work, s) for s in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        for sandbox in self.sandboxes:
            sandbox.close()
        self.sandboxes = []


def grade_batch(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path,
                workers: int = 1, limits: Limits = Limits(), device: str = "cpu", force: bool = False,
                log=print) -> list[SubmissionResult]:
    """Grade ``submissions`` with the local pool of ``workers`` sandboxes (:func:`run_batch`)."""
    return run_batch(submissions, assignment, out_csv, feedback, LocalPool(workers, limits, device), force, log,
                     device=device)
