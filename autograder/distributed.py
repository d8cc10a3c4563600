"""Grading on a Dask cluster: the same per-submission grader, one task per submission, results written here.

    python -m autograder grade SUBMISSIONS... --assignment ID --scheduler tcp://host:8786   # an existing cluster
    python -m autograder grade SUBMISSIONS... --assignment ID --scheduler local:4           # a LocalCluster

The client (this process) does what the local pool's parent does before and after grading: it computes the
reference outputs once (trusted, cached), checks them against the checks, skips submissions whose stored result is
up to date, and writes every result it receives - HTML page, then the JSON "done" mark, each atomically - through
the functions of :mod:`autograder.batch`, so an interrupted run resumes exactly as a local one does, and the CSV
is rebuilt from one result per student.

Each task carries one submission's bytes (no shared file system needed) and runs :func:`grade_task` on a worker:
the local pool's per-submission function (``batch._grade_one``: ``grade_notebook`` plus one retry after a grader
failure) with a warm :class:`~autograder.sandbox.Sandbox` of that worker process (its launcher starts on the
worker's first task, then every submission's child is forked from it), verification against the reference outputs
scattered to the workers once, and the feedback page rendered there (its pictures need the worker's arrays). The
worker process is the trusted parent of the sandbox, exactly as the local pool's process is; it checks first that
its grader files are the client's (:func:`code_fingerprint`).

Every submission gets a row, as locally. A worker that dies mid-task (killed, out of memory, machine lost): the
scheduler runs its task on another worker; a task lost for good (``KilledWorker`` after Dask's
``distributed.scheduler.allowed-failures``, a lost dependency) is submitted again up to :data:`RESUBMIT` times,
then gets a row of zeros marked not graded (no "done" mark: the next run grades it), like a grader failure in the
local pool. Only the client writes, one result per student: a retried submission is never counted twice.

Worker processes: LocalCluster workers are daemonic processes started by nannies (which restart a worker that
dies); the sandbox starts its launcher with ``subprocess``, which daemonic processes may do. Each worker process
holds sandbox slots from :data:`SLOT_BASE` on (the local pool uses 0, 1, ...) through lock files, and records its
launchers' pids there: a worker killed with SIGKILL cannot stop its launcher, and the next worker that starts on
that machine kills what the dead one left running and removes its submissions' control groups.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .batch import Submission, csv_text, feedback_path, load_result, result_path, write_atomic
from .check import Assignment
from .grade import SubmissionResult
from .progress import Progress
from .sandbox import Limits

SLOT_BASE = 100       # Dask worker processes use sandbox slots (uids) from here on; the local pool uses 0, 1, ...
RESUBMIT = 2          # times a task lost with its worker(s) is submitted again before it counts as failed
PLUGIN_NAME = "autograder-sandboxes"


# ---------------------------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------------------------

_CLIENT_ONLY = {"__main__", "batch", "cli", "demo", "distributed", "progress", "reference", "examples"}


def _roots() -> dict[str, Path]:
    import hwlib
    from hwlib._paths import data_dir

    return {"autograder": Path(__file__).resolve().parent, "hwlib": Path(hwlib.__file__).resolve().parent,
            "data": data_dir().resolve()}


def code_fingerprint(assignment: Assignment | None = None) -> dict[str, str]:
    """``{file: sha256}`` of what a verdict depends on, as imported by this process after grading set-up: the
    autograder and hwlib modules it loaded (client-only modules and other assignments' checks aside), the
    offline weights, and torch's and numpy's versions. The client sends its fingerprint with every task; a worker
    whose files differ refuses."""
    import sys

    import numpy as np
    import torch

    roots = _roots()
    files = {f"data/{p.name}" for p in roots["data"].glob("*.pt")}
    files |= {f"autograder/sandbox/{p.name}" for p in (roots["autograder"] / "sandbox").glob("*.py")}  # the launcher's
    for name, module in list(sys.modules.items()):
        parts = name.split(".")
        path = getattr(module, "__file__", None)
        other_checks = assignment is not None and name.startswith("autograder.checks.") and \
            name != assignment.make_context.__module__
        if parts[0] in ("autograder", "hwlib") and path and not other_checks and \
                not (parts[0] == "autograder" and len(parts) > 1 and parts[1] in _CLIENT_ONLY):
            path = Path(path).resolve()
            for top in (parts[0], "data"):   # hwlib.data is installed from the repository's data/ folder
                if path.is_relative_to(roots[top]):
                    files.add(f"{top}/{path.relative_to(roots[top]).as_posix()}")
                    break
    return {"versions": f"torch {torch.__version__}, numpy {np.__version__}", **{f: _file_hash(f) for f in files}}


def _file_hash(name: str) -> str:
    top, _, rest = name.partition("/")
    try:
        return hashlib.sha256((_roots()[top] / rest).read_bytes()).hexdigest()
    except (OSError, KeyError):
        return "missing"


def _differences(expected: dict[str, str]) -> list[str]:
    """What differs between ``expected`` (the client's fingerprint) and this process's files."""
    import numpy as np
    import torch

    ours = f"torch {torch.__version__}, numpy {np.__version__}"
    out = [f"versions: {ours} here, {expected.get('versions')} on the client"] if expected.get("versions") != ours else []
    return out + [name for name, digest in sorted(expected.items()) if name != "versions" and _file_hash(name) != digest]


def _slot_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "autograder-slots"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _reap(fd: int) -> None:
    """Kill the launchers (and everything under them) that a dead holder of this slot recorded in its lock file."""
    import psutil

    os.lseek(fd, 0, os.SEEK_SET)
    try:
        records = json.loads(os.read(fd, 1 << 16) or b"[]")
    except ValueError:
        records = []
    for record in records if isinstance(records, list) else ():
        try:
            launcher = psutil.Process(int(record["pid"]))
            if abs(launcher.create_time() - float(record["created"])) > 0.05:
                continue  # the pid was reused by an unrelated process
            victims = [launcher, *launcher.children(recursive=True)]
        except (psutil.Error, KeyError, TypeError, ValueError):
            continue
        for victim in victims:
            try:
                victim.kill()
            except psutil.Error:
                pass
    os.ftruncate(fd, 0)


def _reap_cgroups() -> None:
    """Kill what is still running in the control groups of grader processes that died, and remove the groups
    (``sandbox.cgroups`` names them ``autograder-<grader pid>-...``; it removes only the empty ones itself)."""
    from .sandbox import cgroups

    try:
        usable, _ = cgroups.probe()
    except OSError:
        return
    for controller, where in usable.items():
        try:
            folders = list(where.base.glob("autograder-*-*"))
        except OSError:
            continue
        for folder in folders:
            try:
                pid = int(folder.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
                cgroups.Cgroup({controller: folder}).remove()


def reap_dead_slots() -> None:
    """Clean up after worker processes of this machine that died without closing their sandboxes: their
    launchers (and everything under them) and their submissions' control groups."""
    for path in sorted(_slot_folder().glob("*.lock")):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue      # a live process holds it
        try:
            _reap(fd)
        finally:
            os.close(fd)  # releases the lock
    _reap_cgroups()


class _Slot:
    """A sandbox slot held by this process (an flock on ``<tmp>/autograder-slots/<n>.lock``)."""

    def __init__(self):
        folder = _slot_folder()
        for number in range(SLOT_BASE, SLOT_BASE + 4096):
            fd = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _reap(fd)
            self.number, self.fd, self.recorded = number, fd, None
            return
        raise RuntimeError(f"no free sandbox slot in {folder}")

    def record(self, process) -> None:
        """Write the sandbox launcher's pid and start time into the lock file (for :func:`_reap`)."""
        import psutil

        if process is None or process.pid == self.recorded:
            return
        try:
            created = psutil.Process(process.pid).create_time()
        except psutil.Error:
            return
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps([{"pid": process.pid, "created": created}]).encode(), 0)
        self.recorded = process.pid

    def release(self) -> None:
        os.ftruncate(self.fd, 0)
        os.close(self.fd)


class _WorkerState:
    """Per worker process: warm sandboxes (one per concurrently running task), assignments and their contexts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.free: dict[tuple, list] = {}
        self.slots: dict[int, _Slot] = {}   # id(sandbox) -> its slot
        self.sandboxes: list = []
        self.assignments: dict[str, tuple] = {}
        self.checked: set[str] = set()

    def assignment(self, assignment_id: str) -> tuple:
        with self.lock:
            if assignment_id not in self.assignments:
                from .assignments import load_assignment

                assignment = load_assignment(assignment_id)
                self.assignments[assignment_id] = (assignment, assignment.make_context("cpu"))
            return self.assignments[assignment_id]

    def check_fingerprint(self, expected: dict[str, str]) -> None:
        """Refuse to grade with files that differ from the client's (checked once per process)."""
        digest = hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()
        if digest in self.checked:
            return
        differences = _differences(expected)
        if differences:
            raise RuntimeError("this worker runs a different version of the grader than the client; these differ: "
                               f"{', '.join(differences[:8])}. Install the same version on every worker.")
        with self.lock:
            self.checked.add(digest)

    @contextmanager
    def sandbox(self, level: str, threads: int):
        from .sandbox import Sandbox

        with self.lock:
            pool = self.free.setdefault((level, threads), [])
            if pool:
                sandbox = pool.pop()
            else:
                slot = _Slot()
                sandbox = Sandbox(slot.number, level, threads)
                self.slots[id(sandbox)] = slot
                self.sandboxes.append(sandbox)
        try:
            yield sandbox
        finally:
            self.slots[id(sandbox)].record(sandbox.process)
            with self.lock:
                self.free[(level, threads)].append(sandbox)

    def close(self) -> None:
        with self.lock:
            for sandbox in self.sandboxes:
                sandbox.close()
                self.slots.pop(id(sandbox)).release()
            self.sandboxes.clear()
            self.free.clear()


_STATE: _WorkerState | None = None
_STATE_LOCK = threading.Lock()


def _state() -> _WorkerState:
    global _STATE
    with _STATE_LOCK:
        if _STATE is None:
            import atexit

            _STATE = _WorkerState()
            atexit.register(_STATE.close)
        return _STATE


def _close_state() -> None:
    global _STATE
    with _STATE_LOCK:
        state, _STATE = _STATE, None
    if state is not None:
        state.close()


def _worker_threads() -> int:
    """CPU threads for one sandboxed run on this worker: its cores shared by its task threads."""
    try:
        from distributed import get_worker

        slots = get_worker().state.nthreads
    except (ImportError, ValueError):
        slots = 1
    return max(1, (os.cpu_count() or 1) // max(1, slots))


def _page(result: SubmissionResult, figures) -> str:
    """The feedback page (as the local pool renders it: without pictures when one cannot be drawn)."""
    from .feedback import render

    try:
        return render(result, figures)
    except Exception as err:
        result.notes.append(f"(pictures left out: {type(err).__name__})")
        return render(result, {})


def grade_task(student: str, shown: str, data: bytes, assignment_id: str, reference: dict, grader_key: str,
               fingerprint: dict[str, str], limits: Limits, device: str) -> dict:
    """Grade one submission on this worker with the local pool's per-submission function
    (:func:`autograder.batch._grade_one`): see the module docstring.

    Args:
        student: the student id. shown: the submission's path on the client, as its result shows it.
        data: the notebook's bytes (as ``grade.read_submission`` read them on the client).
        reference: the reference outputs (``reference_outputs``), computed on the client.
        grader_key, fingerprint: the client's reference cache key and :func:`code_fingerprint`.
        limits: the sandbox's limits; ``threads=0`` means this worker's cores divided by its task threads.
        device: ``cpu``, ``cuda`` or ``auto`` (resolved here).

    Returns:
        ``{"result": SubmissionResult JSON, "html": feedback page, "failure": None or why the grader failed,
        "seconds": grading time, "cpu_s": CPU time it took here (see :func:`_cpu_seconds`), "worker": host}``.
    Raises:
        RuntimeError: this worker cannot grade (different grader files, no GPU for ``cuda``); the client gives
        the submission a row of zeros marked not graded.
    """
    import socket

    from .batch import Submission, _grade_one
    from .sandbox import isolation

    start = time.monotonic()
    state = _state()
    state.check_fingerprint(fingerprint)
    assignment, context = state.assignment(assignment_id)
    if device in ("auto", "cuda"):
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device cuda: no CUDA GPU on worker {socket.gethostname()}.")
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not limits.threads:
        limits = replace(limits, threads=_worker_threads())
    with tempfile.TemporaryDirectory(prefix="autograder-submission-") as folder:
        path = Path(folder) / "submission.ipynb"
        path.write_bytes(data)
        with state.sandbox(isolation(), limits.threads) as sandbox:
            cpu = _cpu_seconds(sandbox)
            result, figures, failure = _grade_one(Submission(student, path), assignment, reference, context,
                                                  grader_key, limits, device, sandbox)
            cpu = _cpu_seconds(sandbox) - cpu
    result.submission = shown
    return {"result": result.to_json(), "html": _page(result, figures), "failure": failure,
            "seconds": time.monotonic() - start, "cpu_s": cpu, "worker": socket.gethostname()}


def _cpu_seconds(sandbox) -> float:
    """CPU time so far of this process (all its threads) and of the sandbox's launcher with the children it reaped
    (every submission's processes): the first task of a worker includes the launcher's start-up."""
    import psutil

    total = sum(psutil.Process().cpu_times()[:2])
    process = getattr(sandbox, "process", None)
    if process is not None:
        try:
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


def worker_report(device: str = "cpu") -> dict:
    """This worker's isolation level and what it cannot limit per submission (``sandbox.enforcement``)."""
    from .sandbox import enforcement, isolation

    level = isolation()
    return {"isolation": level, "weak": enforcement(level, device)}


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # only the client side needs distributed; keep this module importable without it
    WorkerPlugin = object


class SandboxPlugin(WorkerPlugin):
    """Registered on every worker (also those that join or restart later): on start, kill what dead workers of this
    machine left running; on close, stop this worker's sandbox launchers and free their slots."""

    name = PLUGIN_NAME

    def setup(self, worker=None):
        reap_dead_slots()

    def teardown(self, worker=None):
        _close_state()


# ---------------------------------------------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------------------------------------------

def _lost(future) -> bool:
    """Did the task end because the cluster lost it (its workers died, it was cancelled), not by its own error?"""
    from distributed import KilledWorker

    if future.status == "cancelled":
        return True
    try:
        error = future.exception(timeout=5)
    except Exception:   # CancelledError and friends
        return True
    text = str(error).lower()
    return isinstance(error, KilledWorker) or ("lost" in text and "dependenc" in text)


class _ClientSide:
    """Stands in for a sandbox where the client grades a submission itself: one it cannot read (a symbolic link,
    a FIFO, too large), which ``grade_notebook`` turns into a row of zeros before any sandbox is used."""

    def __init__(self, level: str):
        self.level = level

    def run(self, *args, **kwargs):
        from .sandbox import GraderError

        raise GraderError("the submission changed while it was being graded")

    def turn(self, *args, **kwargs):
        return self.run()


def _scatter(client, reference: dict):
    """The reference outputs on every worker, as one future (a dict given to ``scatter`` is split by key)."""
    (future,) = client.scatter([reference], broadcast=True, hash=False)
    return future


def _describe_workers(client, device: str) -> tuple[str, list[str]]:
    """``"isolation: namespaces"`` (or each level and how many workers have it) and the enforcement warnings."""
    reports = client.run(worker_report, device).values()
    levels = sorted({r["isolation"] for r in reports})
    counts = ", ".join(f"{level} on {sum(r['isolation'] == level for r in reports)}" for level in levels)
    weak = sorted({line for r in reports for line in r["weak"]})
    return f"isolation: {levels[0] if len(levels) == 1 else counts}", weak


def grade_distributed(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path, client,
                      limits: Limits = Limits(threads=0), device: str = "cpu", force: bool = False, log=print,
                      progress: bool | None = None) -> list[SubmissionResult]:
    """Grade ``submissions`` on the Dask cluster of ``client`` (see the module docstring); returns one result per
    submission, sorted by student (``graded=False`` for those the grader failed on). Same outputs as
    :func:`autograder.batch.grade_batch`: ``<feedback>/<name>.html``, ``<feedback>/.results/<name>.json`` (the
    "done" mark, only for graded ones) and ``out_csv``."""
    import sys

    from distributed import as_completed

    from .batch import _grade_one
    from .grade import UnreadableNotebook, read_submission, zero_result
    from .reference import cache_key, forget_digests
    from .sandbox import isolation

    feedback, out_csv = Path(feedback), Path(out_csv)
    from .batch import trusted_reference

    context = assignment.make_context("cpu")
    reference = trusted_reference(assignment, context)
    key, fingerprint = cache_key(assignment), code_fingerprint(assignment)
    done = {s.student: r for s in submissions if not force and (r := load_result(feedback, s, key)) is not None}
    todo = [s for s in submissions if s.student not in done]
    client.wait_for_workers(1, timeout=300)
    client.register_plugin(SandboxPlugin(), name=PLUGIN_NAME)
    threads = sum(client.nthreads().values())
    described, weak = _describe_workers(client, device)
    log(f"{assignment.id}: {len(submissions)} submission(s), {len(done)} already graded, {len(todo)} to grade "
        f"on {len(client.nthreads())} Dask worker(s) ({threads} task thread(s)), {described}, device: {device}.")
    if weak and todo:
        warning = "WARNING: no control groups for: " + "; ".join(weak)
        log(warning)
        print(warning, file=sys.stderr)

    results: dict[str, SubmissionResult] = dict(done)
    failures: list[str] = []
    bar = Progress(len(todo), desc=assignment.id, already=len(done), enabled=progress)
    log = bar.wrap(log)

    def finish(submission: Submission, result: SubmissionResult, page: str, failure: str | None,
               where: str = "") -> None:
        """Write one submission's page, then (graded only) its result: each atomically, each student once."""
        if result.student != submission.student or submission.student in results:
            raise RuntimeError(f"a second result for {submission.student!r} (or one for {result.student!r}) came back")
        write_atomic(feedback_path(feedback, submission.student), page)
        if failure is None:
            write_atomic(result_path(feedback, submission.student), result.to_json())
        else:
            failures.append(f"{submission.student}: {failure}")
        results[submission.student] = result
        state = "NOT GRADED (grader failure, graded again next run)" if failure else \
            f"{result.total:g} / {result.max:g}"
        log(f"  {submission.student}: {state}{where}")
        bar.update(ok=failure is None)

    def not_graded(submission: Submission, why: str) -> None:
        base = SubmissionResult(submission.student, assignment.id, _shown(submission), "", key, [], graded=False)
        result = zero_result(base, assignment, "The grader itself failed on this submission; it is not your fault "
                                               "and it will be graded again on the next run.")
        finish(submission, result, _page(result, {}), why)

    def on_client(submission: Submission) -> None:
        result, figures, failure = _grade_one(submission, assignment, reference, context, key, limits, "cpu",
                                              _ClientSide(isolation()))
        finish(submission, result, _page(result, figures), failure)

    run_id = uuid.uuid4().hex[:8]
    shipped = {"reference": _scatter(client, reference)}
    by_key: dict[str, Submission] = {}
    attempts: dict[str, int] = {}
    pending = iter(todo)
    window = max(32, 4 * threads)   # submissions in flight: the client never holds every notebook's bytes at once

    def submit(submission: Submission):
        attempt = attempts[submission.student] = attempts.get(submission.student, -1) + 1
        if shipped["reference"].status != "finished":   # every replica lost with its workers
            shipped["reference"] = _scatter(client, reference)
        data = read_submission(submission.path)   # UnreadableNotebook: graded on the client
        task_key = (f"grade-{assignment.id}", submission.student, f"{run_id}-{attempt}")  # one task group
        future = client.submit(grade_task, submission.student, _shown(submission), data, assignment.id,
                               shipped["reference"], key, fingerprint, limits, device, key=task_key, retries=0,
                               pure=False)
        by_key[future.key] = submission
        return future

    def more(n: int) -> list:
        out = []
        for submission in pending:
            if submission.problem is None:
                try:
                    out.append(submit(submission))
                except UnreadableNotebook:
                    on_client(submission)
            else:
                on_client(submission)
            if len(out) >= n:
                break
        return out

    stream = as_completed()
    try:
        for future in more(window):
            stream.add(future)
        for future in stream:
            submission = by_key.pop(future.key)
            if future.status == "finished":
                reply = future.result()
                finish(submission, SubmissionResult.from_json(reply["result"]), reply["html"], reply["failure"],
                       f"  ({reply['seconds']:.1f} s, {reply['cpu_s']:.2f} s CPU on {reply['worker']})")
            elif _lost(future) and attempts[submission.student] < RESUBMIT:
                log(f"  {submission.student}: lost with its worker; submitted again")
                stream.add(submit(submission))
            else:
                error = future.exception(timeout=5) if future.status == "error" else "lost with its workers"
                not_graded(submission, f"{type(error).__name__}: {str(error)[:300]}")
            future.release()
            for new in more(1):
                stream.add(new)
    finally:
        bar.close()
        leftover = list(getattr(stream, "futures", ()))
        if leftover:   # interrupted: stop the cluster's work; finished results are on disk, the next run resumes
            client.cancel(leftover)
        if todo and "none" in described:   # student code ran as this user somewhere: the cache is not trusted
            forget_digests(assignment)
    ordered = sorted(results.values(), key=lambda r: r.student)
    write_atomic(out_csv, csv_text(ordered, assignment))
    if failures:
        print(f"{len(failures)} submission(s) could not be graded (rerun to retry):", *failures, sep="\n  ",
              file=sys.stderr)
    return ordered


def _shown(submission: Submission) -> str:
    return os.fsencode(submission.path).decode("utf-8", "backslashreplace")


def parse_scheduler(scheduler: str) -> int | str:
    """``local:N`` -> N (workers of a LocalCluster); anything else is a scheduler address."""
    if scheduler.startswith("local:"):
        try:
            workers = int(scheduler.split(":", 1)[1])
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(f"--scheduler {scheduler}: expected local:N with N >= 1 worker processes.")
        return workers
    if not scheduler.strip():
        raise ValueError("--scheduler: expected a scheduler address (tcp://host:8786) or local:N.")
    return scheduler


@contextmanager
def connect(scheduler: str, log=print):
    """A Dask client for ``scheduler`` (``local:N``: a LocalCluster of N worker processes with one task thread each,
    listening on localhost only; otherwise the address of a running scheduler). Prints the dashboard link."""
    from distributed import Client, LocalCluster

    target = parse_scheduler(scheduler)
    cluster = None
    if isinstance(target, int):
        # Worker processes are started by nannies (a nanny restarts a worker that dies); workers are daemonic
        # processes, which may not use multiprocessing, but the sandbox starts its launcher with subprocess.
        cluster = LocalCluster(n_workers=target, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(target, timeout="60s")
    try:
        services = client.scheduler_info().get("services", {})
        if "dashboard" in services:
            import importlib.util

            hint = "" if cluster is None or importlib.util.find_spec("bokeh") else \
                "  (it shows a page asking for bokeh>=3.1: pip install bokeh to see the task stream)"
            log(f"Dask dashboard: {client.dashboard_link}{hint}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def grade_on_scheduler(scheduler: str, submissions: list[Submission], assignment: Assignment, out_csv: Path,
                       feedback: Path, limits: Limits = Limits(), device: str = "cpu", force: bool = False,
                       log=print) -> list[SubmissionResult]:
    """``python -m autograder grade --scheduler ...``: connect (or start a LocalCluster), grade, disconnect.

    Each sandboxed run gets ``cores / task threads`` CPU threads of its worker (``limits.threads`` is replaced),
    as ``--workers N`` gives each of its N slots ``cores / N``.
    """
    target = parse_scheduler(scheduler)
    threads = max(1, (os.cpu_count() or 1) // target) if isinstance(target, int) else 0
    with connect(scheduler, log) as client:
        return grade_distributed(submissions, assignment, out_csv, feedback, client, replace(limits, threads=threads),
                                 device, force, log)
