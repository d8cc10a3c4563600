"""Grading a batch: find the submissions, grade them in parallel, keep results resumable, write the CSV.

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
import hashlib
import io
import os
import queue
import re
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .check import Assignment
from .feedback import render
from .grade import SubmissionResult, grade_notebook, submission_sha256, verify_all, zero_result
from .progress import Progress
from .reference import cache_key, forget_digests, reference_outputs
from .sandbox import GraderError, Limits, Observation, Sandbox, enforcement, isolation


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
        raise ValueError(f"no .ipynb submissions found in {', '.join(os.fsencode(p).decode('utf-8', 'replace') for p in paths)}.")
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


def trusted_reference(assignment: Assignment, context) -> dict:
    """The reference outputs, self-checked: a reference (from the cache) that fails its own checks is dropped and
    computed again once, so a poisoned cache costs a recomputation, never the batch."""
    reference = reference_outputs(assignment, store=True)
    try:
        self_check(assignment, reference, context)
    except RuntimeError:
        forget_digests(assignment)
        reference = reference_outputs(assignment, store=True)
        self_check(assignment, reference, context)
    return reference


def self_check(assignment: Assignment, reference: dict, context) -> None:
    """The reference outputs must pass every check; otherwise the checks or the solution are broken."""
    obs = Observation(probes={name: (arrays, None) for name, arrays in reference.items()})
    results, _ = verify_all(assignment, obs, reference, context, Limits())
    failed = [f"{r.name}: {r.message}" for r in results if not r.passed]
    if failed:
        raise RuntimeError("the solution's own outputs fail these checks:\n" + "\n".join(failed))


def _grade_one(submission: Submission, assignment: Assignment, reference: dict, context, key: str, limits: Limits,
               device: str, sandbox: Sandbox):
    """(result, figures) of one submission; a grader failure is tried once more, then becomes a row of zeros
    with ``graded=False``. Never raises (but KeyboardInterrupt)."""
    base = SubmissionResult(submission.student, assignment.id,
                            os.fsencode(submission.path).decode("utf-8", "backslashreplace"), "", key, [],
                            isolation=sandbox.level)
    if submission.problem is not None:
        return zero_result(base, assignment, f"Your submission could not be read: {submission.problem}"), {}, None
    error = None
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
    base.graded = False
    message = (f"The grader itself failed on this submission ({type(error).__name__}); it is not your fault and it "
               "will be graded again on the next run.")
    return zero_result(base, assignment, message), {}, f"{type(error).__name__}: {str(error)[:300]}"


def grade_batch(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path,
                workers: int = 1, limits: Limits = Limits(), device: str = "cpu", force: bool = False,
                log=print) -> list[SubmissionResult]:
    """Grade ``submissions`` (see the module docstring); returns one result per submission, sorted by student
    (``graded=False`` for those the grader failed on)."""
    feedback, out_csv = Path(feedback), Path(out_csv)
    key, level = cache_key(assignment), isolation()
    done = {s.student: r for s in submissions if not force and (r := load_result(feedback, s, key)) is not None}
    todo = [s for s in submissions if s.student not in done]
    sandboxes = [Sandbox(slot, level, limits.threads) for slot in range(workers if todo else 0)]
    for sandbox in sandboxes:   # the launchers import torch and build the context while this process does too
        sandbox.warm_up(assignment.id, device)
    try:
        context = assignment.make_context("cpu")
        reference = trusted_reference(assignment, context)
    except BaseException:
        for sandbox in sandboxes:
            sandbox.close()
        raise
    log(f"{assignment.id}: {len(submissions)} submission(s), {len(done)} already graded, {len(todo)} to grade "
        f"with {workers} worker(s), isolation: {level}, device: {device}.")
    weak = enforcement(level, device)
    if weak and todo:
        warning = "WARNING: no control groups for: " + "; ".join(weak)
        log(warning)
        print(warning, file=sys.stderr)
    bar = Progress(len(todo), desc=assignment.id, already=len(done))   # on a terminal only
    log = bar.wrap(log)
    free: queue.Queue[Sandbox] = queue.Queue()
    for sandbox in sandboxes:
        free.put(sandbox)
    failures: list[str] = []

    def work(submission: Submission) -> SubmissionResult:
        sandbox, start = free.get(), time.monotonic()
        try:
            result, figures, failure = _grade_one(submission, assignment, reference, context, key, limits, device,
                                                  sandbox)
            try:
                page = render(result, figures)
            except Exception as err:   # a figure or text we did not foresee: the page without pictures
                page = render(result, {})
                result.notes.append(f"(pictures left out: {type(err).__name__})")
            write_atomic(feedback_path(feedback, submission.student), page)
            if failure is None:
                write_atomic(result_path(feedback, submission.student), result.to_json())
            else:
                failures.append(f"{submission.student}: {failure}")
            state = "NOT GRADED (grader failure, graded again next run)" if failure else \
                f"{result.total:g} / {result.max:g}"
            log(f"  {submission.student}: {state}  ({time.monotonic() - start:.1f} s)")
            bar.update(ok=failure is None)
            return result
        finally:
            free.put(sandbox)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            graded = list(pool.map(work, todo))
    finally:
        bar.close()
        for sandbox in sandboxes:
            sandbox.close()
        if level == "none" and todo:   # student code ran as this user: nothing it could write stays trusted
            forget_digests(assignment)
    results = sorted([*done.values(), *graded], key=lambda r: r.student)
    write_atomic(out_csv, csv_text(results, assignment))
    if failures:
        print(f"{len(failures)} submission(s) could not be graded (rerun to retry):", *failures, sep="\n  ",
              file=sys.stderr)
    return results
