"""Grading on a Dask cluster: the batch lifecycle's second executor, one task per submission.

    python -m autograder grade SUBMISSIONS... --assignment ID --scheduler tcp://host:8786   # an existing cluster
    python -m autograder grade SUBMISSIONS... --assignment ID --scheduler local:4           # a LocalCluster

The client (this process) runs the same lifecycle as the local pool (:func:`autograder.batch.run_batch`: the
reference computed once and self-checked, skip/resume, every page and "done" mark written here, the CSV from one
result per student); :class:`DaskExecutor` only maps submissions to outcomes, so an interrupted run resumes exactly
as a local one does and ``--scheduler local:2`` writes the CSV that ``--workers 2`` writes.

Each task carries one submission's bytes (no shared file system needed) and runs :func:`grade_task` on a worker:
the local pool's per-submission function (:func:`autograder.batch.grade_submission`: ``grade_notebook`` plus one
retry after a grader failure) with a warm :class:`~autograder.sandbox.Sandbox` of that worker process (its launcher
starts on the worker's first task, then every submission's child is forked from it), verification against the
reference outputs
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
from typing import Iterator

from .batch import Outcome, Submission, feedback_page, grade_submission, not_graded_result, run_batch, shown_path
from .check import Assignment
from .grade import SubmissionResult
from .sandbox import Limits

SLOT_BASE = 100       # Dask worker processes use sandbox slots (uids) from here on; the local pool uses 0, 1, ...
RESUBMIT = 2          # times a task lost with its worker(s) is submitted again before it counts as failed
PLUGIN_NAME = "autograder-sandboxes"


# ---------------------------------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------------------------------

_CLIENT_ONLY = {"__main__", "cli", "demo", "distributed", "progress", "reference", "examples"}


def _roots() -> dict[str, Path]:
    from .sandbox_host import hwlib_paths  # found without importing hwlib (which imports torch)

    hwlib_dir, data_dir = hwlib_paths()
    return {"autograder": Path(__file__).resolve().parent, "hwlib": hwlib_dir, "data": data_dir}


def code_fingerprint(assignment: Assignment | None = None) -> dict[str, str]:
    """``{file: sha256}`` of what grading depends on: every file a verdict of ``assignment`` depends on
    (:func:`autograder.reference.verdict_sources`, the same list as the reference cache key's), the other
    autograder and hwlib modules this process loaded after grading set-up (client-only modules and every checks
    module aside: with ``assignment`` they are the verdict sources; without it, every loaded one counts), the
    sandbox's files, the offline weights, and torch's and numpy's versions. The client sends its fingerprint with
    every task; a worker whose files differ refuses."""
    import sys

    from .reference import verdict_sources

    roots = _roots()
    files = {f"data/{p.name}" for p in roots["data"].glob("*.pt")}
    files |= {f"autograder/sandbox/{p.name}" for p in (roots["autograder"] / "sandbox").glob("*.py")}  # the launcher's
    if assignment is not None:
        files |= {f"autograder/{p.relative_to(roots['autograder']).as_posix()}" for p in verdict_sources(assignment.id)}
    for name, module in list(sys.modules.items()):
        parts = name.split(".")
        path = getattr(module, "__file__", None)
        checks = assignment is not None and (name == "autograder.checks" or name.startswith("autograder.checks."))
        if parts[0] in ("autograder", "hwlib") and path and not checks and \
                not (parts[0] == "autograder" and len(parts) > 1 and parts[1] in _CLIENT_ONLY):
            path = Path(path).resolve()
            for top in (parts[0], "data"):   # hwlib.data is installed from the repository's data/ folder
                if path.is_relative_to(roots[top]):
                    files.add(f"{top}/{path.relative_to(roots[top]).as_posix()}")
                    break
    return {"versions": _versions(), **{f: _file_hash(f) for f in files}}


def _versions() -> str:
    """torch's and numpy's installed versions (from their metadata: a client need not import torch; an install
    without metadata falls back on the module's own ``__version__``)."""
    import importlib
    from importlib.metadata import PackageNotFoundError, version

    def one(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return str(getattr(importlib.import_module(name), "__version__", "unknown"))

    return f"torch {one('torch')}, numpy {one('numpy')}"


def _file_hash(name: str) -> str:
    top, _, rest = name.partition("/")
    try:
        return hashlib.sha256((_roots()[top] / rest).read_bytes()).hexdigest()
    except (OSError, KeyError):
        return "missing"


#: ``{file: sha256}`` as this worker process first hashed each file (:func:`_differences`): what it loaded, or
#: will load, for as long as it lives
_FIRST_SEEN: dict[str, str] = {}


def _differences(expected: dict[str, str]) -> list[str]:
    """What differs between ``expected`` (the client's fingerprint) and this process's files *as this process first
    saw them*: a worker keeps its imported modules, contexts and warm launchers from one batch to the next, so a
    file changed on disk after it was loaded would otherwise pass the check while the old code grades."""
    if "versions" not in _FIRST_SEEN:
        _FIRST_SEEN["versions"] = _versions()
    ours = _FIRST_SEEN["versions"]
    out = [f"versions: {ours} here, {expected.get('versions')} on the client"] if expected.get("versions") != ours \
        else []
    for name in expected:
        if name != "versions" and name not in _FIRST_SEEN:
            _FIRST_SEEN[name] = _file_hash(name)
    return out + [name for name, digest in sorted(expected.items())
                  if name != "versions" and _FIRST_SEEN[name] != digest]


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
                               f"{', '.join(differences[:8])}. Install the same version on every worker, and "
                               "restart workers that were running when the grader's files changed.")
        with self.lock:
            self.checked.add(digest)

    @contextmanager
    def sandbox(self, level: str, threads: int):
        from .sandbox import Sandbox
        from .sandbox_host import grader_host

        with self.lock:
            pool = self.free.setdefault((level, threads), [])
            if pool:
                sandbox = pool.pop()
            else:
                slot = _Slot()
                sandbox = Sandbox(slot.number, level, threads, host=grader_host())
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


def threads_per_task(cores: int, own_threads: int, workers: dict | None = None, host: str | None = None) -> int:
    """CPU threads for one sandboxed run: this machine's ``cores`` shared by the task threads of every worker of the
    cluster on ``host`` (``workers``: the scheduler's ``{address: {"host": ..., "nthreads": ...}}``), at least
    this worker's own ``own_threads``. ``dask worker --nworkers 4`` starts four worker processes that each see
    every core: dividing by one worker's threads alone gave each run all the cores, four times over."""
    slots = own_threads
    if workers and host:
        slots = max(slots, sum(int(w.get("nthreads", 0)) for w in workers.values() if w.get("host") == host))
    return max(1, cores // max(1, slots))


def _worker_threads() -> int:
    """:func:`threads_per_task` for the worker running this task (the scheduler's view of the cluster comes
    through the worker's client; without it, this worker's threads alone count)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return max(1, os.cpu_count() or 1)
    workers, host = None, None
    try:
        from distributed import get_client
        from distributed.comm import get_address_host

        host, client = get_address_host(worker.address), get_client()
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:   # distributed before 2025: every worker is listed without being asked
            workers = client.scheduler_info()["workers"]
    except Exception:   # no client: this worker's own threads alone
        workers = None
    return threads_per_task(os.cpu_count() or 1, worker.state.nthreads, workers, host)


def grade_task(student: str, shown: str, data: bytes, assignment_id: str, reference: dict, grader_key: str,
               fingerprint: dict[str, str], limits: Limits, device: str) -> dict:
    """Grade one submission on this worker with the local pool's per-submission function
    (:func:`autograder.batch.grade_submission`): see the module docstring.

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
            result, figures, failure = grade_submission(Submission(student, path), assignment, reference, context,
                                                        grader_key, limits, device, sandbox)
            cpu = _cpu_seconds(sandbox) - cpu
    result.submission = shown
    return {"result": result.to_json(), "html": feedback_page(result, figures), "failure": failure,
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
    machine left running; on close, stop this worker's sandbox launchers and free their slots.

    Idempotent: the next batch on the same cluster does not register it again (a second registration would tear
    down every worker's warm sandboxes, so each batch on a long-running cluster paid the launchers' start-up
    again); workers keep their launchers, contexts and imported grader between batches, and
    :func:`_differences` refuses a client whose files differ from what a worker loaded."""

    name = PLUGIN_NAME
    idempotent = True

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


def _scatter(client, reference: dict):
    """The reference outputs on every worker, as one future (a dict given to ``scatter`` is split by key)."""
    (future,) = client.scatter([reference], broadcast=True, hash=False)
    return future


class DaskExecutor:
    """The Dask cluster of ``client`` as an executor of :func:`autograder.batch.run_batch`: one task per submission
    (at most ``window`` in flight), a task lost with its workers submitted again up to :data:`RESUBMIT` times."""

    def __init__(self, client, limits: Limits = Limits(threads=0), device: str = "cpu"):
        from .sandbox import isolation

        self.client, self.limits, self.device = client, limits, device
        self.level = isolation()   # this process's; rows of unreadable submissions carry it
        self.needs_context = False   # the workers build their own (see batch._context_and_reference)
        self.futures: list = []
        self.described = ""

    def open(self, assignment: Assignment, todo: list[Submission]) -> None:
        self.client.wait_for_workers(1, timeout=300)
        self.client.register_plugin(SandboxPlugin(), name=PLUGIN_NAME)   # idempotent: once per cluster

    def describe(self) -> tuple[str, list[str]]:
        reports = self.client.run(worker_report, self.device).values()
        levels = sorted({r["isolation"] for r in reports})
        counts = ", ".join(f"{level} on {sum(r['isolation'] == level for r in reports)}" for level in levels)
        weak = sorted({line for r in reports for line in r["weak"]})
        self.described = f"isolation: {levels[0] if len(levels) == 1 else counts}"
        threads = sum(self.client.nthreads().values())
        return (f"on {len(self.client.nthreads())} Dask worker(s) ({threads} task thread(s)), {self.described}",
                weak)

    @property
    def unjailed(self) -> bool:
        return "none" in self.described

    def grade(self, todo: list[Submission], assignment: Assignment, reference: dict, context, key: str,
              note=print) -> Iterator[Outcome]:
        from distributed import as_completed

        from .grade import UnreadableNotebook, read_submission, unreadable_result

        client, fingerprint = self.client, code_fingerprint(assignment)
        threads = sum(client.nthreads().values())
        run_id = uuid.uuid4().hex[:8]
        shipped = {"reference": _scatter(client, reference)}
        by_key: dict[str, Submission] = {}
        attempts: dict[str, int] = {}
        pending = iter(todo)
        window = max(32, 4 * threads)   # in flight: the client never holds every notebook's bytes at once
        local: list[Outcome] = []        # unreadable here: a row of zeros without a task

        def submit(submission: Submission):
            attempt = attempts[submission.student] = attempts.get(submission.student, -1) + 1
            if shipped["reference"].status != "finished":   # every replica lost with its workers
                shipped["reference"] = _scatter(client, reference)
            data = read_submission(submission.path)   # UnreadableNotebook: a row of zeros, here
            task_key = (f"grade-{assignment.id}", submission.student, f"{run_id}-{attempt}")  # one task group
            future = client.submit(grade_task, submission.student, shown_path(submission.path), data,
                                   assignment.id, shipped["reference"], key, fingerprint, self.limits, self.device,
                                   key=task_key, retries=0, pure=False)
            by_key[future.key] = submission
            return future

        def more(n: int) -> list:
            out = []
            for submission in pending:
                try:
                    out.append(submit(submission))
                except UnreadableNotebook as err:
                    base = SubmissionResult(submission.student, assignment.id, shown_path(submission.path), "",
                                            key, [], isolation=self.level)
                    result = unreadable_result(base, assignment, err)
                    local.append(Outcome(submission, result, feedback_page(result, {})))
                if len(out) >= n:
                    break
            return out

        stream = as_completed()
        self.futures = [stream]
        for future in more(window):
            stream.add(future)
        yield from _drain(local)
        for future in stream:
            submission = by_key.pop(future.key)
            if future.status == "finished":
                reply = future.result()
                yield Outcome(submission, SubmissionResult.from_json(reply["result"]), reply["html"],
                              reply["failure"],
                              f"  ({reply['seconds']:.1f} s, {reply['cpu_s']:.2f} s CPU on {reply['worker']})")
            elif _lost(future) and attempts[submission.student] < RESUBMIT:
                note(f"  {submission.student}: lost with its worker; submitted again")
                stream.add(submit(submission))
            else:
                error = future.exception(timeout=5) if future.status == "error" else "lost with its workers"
                result = not_graded_result(submission, assignment, key, self.level)
                yield Outcome(submission, result, feedback_page(result, {}),
                              f"{type(error).__name__}: {str(error)[:300]}")
            future.release()
            for new in more(1):
                stream.add(new)
            yield from _drain(local)

    def close(self) -> None:
        for stream in self.futures:
            leftover = list(getattr(stream, "futures", ()))
            if leftover:   # interrupted: stop the cluster's work; finished results are on disk, the next run resumes
                self.client.cancel(leftover)
        self.futures = []


def _drain(outcomes: list[Outcome]) -> Iterator[Outcome]:
    while outcomes:
        yield outcomes.pop(0)


def grade_distributed(submissions: list[Submission], assignment: Assignment, out_csv: Path, feedback: Path, client,
                      limits: Limits = Limits(threads=0), device: str = "cpu", force: bool = False, log=print,
                      progress: bool | None = None) -> list[SubmissionResult]:
    """Grade ``submissions`` on the Dask cluster of ``client`` (:func:`autograder.batch.run_batch` with a
    :class:`DaskExecutor`): the same outputs as :func:`autograder.batch.grade_batch`."""
    return run_batch(submissions, assignment, out_csv, feedback, DaskExecutor(client, limits, device), force, log,
                     progress, device)


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
