"""Starting the sandboxed child, watching it, ending it and collecting what it reports (parent side).

Isolation, strongest available first (``isolation()``):

- ``"namespaces"`` (running as root): new mount/pid/net/ipc/uts namespaces, a minimal read-only root
  (``jail``) and a fresh unprivileged uid per submission (never one in use, never one given before by this
  grader), so no per-uid kernel state (user keyrings, process counts) passes from one student to the next;
- ``"user-namespaces"`` (not root, unprivileged user namespaces allowed): the same inside a fresh user namespace
  per run (which has its own user keyrings), with every capability dropped;
- ``"none"``: resource limits, a throw-away HOME and a session to kill; the student's code can read and write
  what the grader's user can. The CLI warns loudly.

Children are forks of a warm launcher process (``launcher``), so a run costs milliseconds, not the seconds of
importing torch. A submission is graded in one :class:`Turn` (``Sandbox.turn``): a fresh uid, a fresh HOME,
its own control groups (``cgroups``: memory with shared memory counted, CPU share, process count) or, where the
machine has none, per-process resource limits. Each run of the turn gets what is left of the submission's one
deadline; when it is up the parent SIGKILLs the run's pid-namespace init, a supervisor that never runs student
code (``child``), which takes every process of the namespace with it.

The deadline counts the submission's *own* time, so that a busy grading machine (N workers on N cores, a
neighbour's CPU hog) gives the same grades as an idle one (``_Meter``, sampled every ``POLL_S``): the CPU time of
its process tree (its control group's ``cpuacct.usage`` / ``cpu.stat``, else the kernel's accounting in
``/proc/<pid>/stat`` of the supervisor, the init and every descendant, children already reaped included), plus
the wall time of the intervals in which none of its threads is runnable (a submission that sleeps or blocks
still ends after ``timeout_s``; waiting for a CPU is not idle). A wall-clock backstop (``backstop_s``: five
times the limit, at most ten minutes more than it) ends a submission that stays runnable on a machine too busy
to run it; the result says which of the two limits was hit. The parent reads the child's output and
result channel with ``select`` and never waits on anything a student controls without a deadline. At the end of
the turn whatever is left in its control groups or runs under its uid is killed (there should be nothing).
"""
from __future__ import annotations

import functools
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups
from .wire import Decoder

ISOLATION_LEVELS = ("namespaces", "user-namespaces", "none")
SANDBOX_UIDS = range(0x7A000000, 0x7F000000)   # fresh uids/gids for submissions (as root): a never-used range
OUTPUT_TAIL = 8 * 1024            # bytes of the student's printed output kept for the feedback
NAMESPACE_FLAGS = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
LAUNCHER_START_S = 600            # the launcher imports torch and builds the context (not the student's time)
KILL_GRACE_S = 30                 # after a kill, how long the launcher may take to report the exit
DRAIN_S = 1.0                     # after the exit, how long output may still arrive
DONE_GRACE_S = 2.0                # after the last result, how long the child may take to exit
POLL_S = 0.1                      # how often the submission's CPU time and idleness are sampled
BACKSTOP_FACTOR, BACKSTOP_MAX_EXTRA_S = 5, 600
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def backstop_s(timeout_s: float) -> float:
    """The wall-clock backstop of a submission whose CPU-time limit is ``timeout_s``."""
    return timeout_s + min((BACKSTOP_FACTOR - 1) * timeout_s, BACKSTOP_MAX_EXTRA_S)


class GraderError(RuntimeError):
    """The grader itself failed (not the student's code): the submission must be graded again."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. ``timeout_s`` is ONE deadline for the whole submission (every restart
    included), counted in its own CPU time plus its idle time, with a wall-clock backstop (``backstop_s``);
    memory, CPUs (``threads``) and ``processes`` are for the submission's whole process tree where control groups
    allow (else per process, see ``enforcement``); ``max_cells`` and ``max_code_kb`` bound the
    graded code cells and their total source."""
    timeout_s: float = 60.0
    memory_mb: int = 4096
    threads: int = 1
    processes: int = 256
    max_cells: int = 300
    max_code_kb: int = 2048
    wall_backstop_s: float | None = None   # None: backstop_s(timeout_s)

    @property
    def backstop(self) -> float:
        """The wall-clock backstop of the whole submission."""
        return self.wall_backstop_s if self.wall_backstop_s is not None else backstop_s(self.timeout_s)


@dataclass
class ChildRun:
    """What one child process reported: its messages in order, how it ended, and the tail of its output."""
    messages: list = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    output_tail: str = ""
    output_bytes: int = 0
    channel_problem: str | None = None
    elapsed_s: float = 0.0
    out_of_memory: bool = False
    charged_s: float = 0.0          # the submission's own time: CPU time + idle wall time (see _Meter)
    limit_hit: str | None = None    # "cpu" (timeout_s of its own time) or "wall" (the backstop)


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=None)
def isolation() -> str:
    """The strongest isolation this machine allows (``$AUTOGRADER_ISOLATION`` can ask for a weaker one)."""
    wanted = os.environ.get("AUTOGRADER_ISOLATION", "")
    if wanted and wanted not in ISOLATION_LEVELS:
        raise ValueError(f"AUTOGRADER_ISOLATION: expected one of {ISOLATION_LEVELS}, got {wanted!r}.")
    if sys.platform != "linux" or not shutil.which("unshare") or wanted == "none":
        return "none"
    probe = ["unshare", *NAMESPACE_FLAGS, "true"]
    if os.geteuid() == 0 and wanted != "user-namespaces" and _works(probe):
        return "namespaces"
    if _works(["unshare", "--user", "--map-root-user", *NAMESPACE_FLAGS, "true"]):
        return "user-namespaces"
    return "none"


def enforcement(level: str, device: str = "cpu") -> list[str]:
    """What this machine cannot limit per submission (empty when control groups cover memory, CPU share and
    process count): one line each, for the grader's single warning."""
    usable, missing = cgroups.probe()
    lines = []
    if "memory" not in usable:
        lines.append("memory is limited per process (RLIMIT_DATA" + (", and RLIMIT_AS for shared memory)"
                                                                     if device == "cpu" else "; shared memory is "
                                                                     "not limited on a GPU)"))
    if "cpu" not in usable:
        lines.append("CPU time is limited per process (RLIMIT_CPU), not the submission's share of the CPUs: a "
                     "submission with many busy processes slows the one graded next to it")
    if "pids" not in usable:
        lines.append("the process count is limited per uid (RLIMIT_NPROC, a fresh uid per submission)"
                     if level == "namespaces" else "the number of processes is not limited")
    return lines + [f"(control groups: {'; '.join(missing)})"] if lines else []


@dataclass(frozen=True)
class Host:
    """What the grader gives the sandbox; the sandbox imports neither the registry nor the student package.

    ``import_paths``: ``sys.path`` entries of the launcher (where the grader's and the student package's code is);
    ``binds``: files and folders the jailed child may read besides the system and Python (the student package,
    its weights, the grader's own files that the child runs); ``registry``: ``"module:function"`` mapping an
    assignment id to its :class:`~autograder.check.Assignment`, called in the launcher; ``preload``: modules the
    launcher imports once, before it forks.
    """
    import_paths: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    registry: str = ""
    preload: tuple[str, ...] = ()


def jail_spec(root: str, uid: int | None, host: Host) -> dict:
    """What ``jail.enter`` builds: read-only binds (the system, Python, ``host.binds``), device nodes, symlinks,
    /tmp size; the student's uid."""
    top_level, symlinks = [], {}
    for name in ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            symlinks[path] = os.readlink(path)
        elif os.path.isdir(path):
            top_level.append(path)
    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    binds = top_level + sorted(p for p in python if not any(p.startswith(t + "/") for t in top_level))
    binds += list(host.binds)
    if os.path.isdir("/sys"):
        binds.append("/sys")
    devices = [d for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
               if os.path.exists(d)]
    devices += sorted(str(p) for p in Path("/dev").glob("nvidia*") if p.is_char_device())
    devices += sorted(str(p) for p in Path("/dev/nvidia-caps").glob("*") if p.is_char_device())
    return {"root": root, "binds": binds, "devices": devices, "symlinks": symlinks, "tmp_mb": 512, "uid": uid}


def _environment(threads: int, home: str) -> dict[str, str]:
    """The launcher's (and so every child's) whole environment: nothing inherited but the GPU selection."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1",
           "HWLIB_CACHE": home, "TORCH_HOME": home, "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
           "PYTHONHASHSEED": "0", "PYTHONWARNINGS": "ignore"}
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return env


def processes_of(uids) -> list[tuple[int, int]]:
    """``(pid, uid)`` of every process whose real, effective or saved uid is in ``uids`` (a range or set)."""
    found = []
    try:
        entries = list(os.scandir("/proc"))
    except OSError:   # no /proc (not Linux): no sandbox uids either
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                line = next(l for l in f if l.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        ids = [int(v) for v in line.split()[1:4]]
        hit = next((u for u in ids if u in uids), None)
        if hit is not None:
            found.append((int(entry.name), hit))
    return found


_given_uids: set[int] = set()
_uid_lock = threading.Lock()


def given_uids() -> frozenset[int]:
    """Every uid this grader process has handed out (a submission's processes run under one of them)."""
    with _uid_lock:
        return frozenset(_given_uids)


def fresh_uid() -> int:
    """A uid from ``SANDBOX_UIDS`` that no process uses and this grader has never handed out."""
    with _uid_lock:
        busy = {uid for _, uid in processes_of(SANDBOX_UIDS)}
        while True:
            uid = random.SystemRandom().choice(SANDBOX_UIDS)
            if uid not in _given_uids and uid not in busy:
                _given_uids.add(uid)
                return uid


class Turn:
    """One submission's share of a :class:`Sandbox`: a fresh uid (as root), a fresh HOME, its own control
    groups. ``close()`` kills whatever of it is still running and removes it all; ``notes`` says if it had to."""

    def __init__(self, sandbox: "Sandbox", limits: Limits):
        self.sandbox, self.limits, self.notes = sandbox, limits, []
        self.uid = fresh_uid() if sandbox.level == "namespaces" else None
        self.home = "/tmp" if sandbox.level != "none" else tempfile.mkdtemp(prefix="home-", dir=sandbox.scratch)
        self.cgroup = None
        self.wall_left = limits.backstop   # the backstop: wall time left to the whole turn
        try:
            self.cgroup = cgroups.Cgroup.create(f"s{sandbox.slot}", limits.memory_mb, max(1, limits.threads),
                                                limits.processes)
        except OSError as err:
            sandbox.problems.append(f"control groups refused ({err}): per-process limits only")

    def close(self) -> None:
        left = self.cgroup.kill() if self.cgroup is not None else 0
        if self.uid is not None:
            for pid, _ in processes_of({self.uid}):
                left += 1
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if left:
            self.notes.append(f"{left} process(es) of your submission were still running after its turn; the "
                              "grader killed them.")
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.home != "/tmp":
            shutil.rmtree(self.home, ignore_errors=True)

    def run(self, job: dict, budget_s: float) -> ChildRun:
        return self.sandbox.run(job, self.limits, budget_s, self)

    def __enter__(self) -> "Turn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stat(path: str) -> list[str] | None:
    """The fields of a /proc stat file after the command name (field 3, the state, is index 0)."""
    try:
        with open(path, "rb") as f:
            return f.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


class _Meter:
    """The submission's own time during one run: the CPU time of its processes (their control group, else the
    kernel's per-process accounting of the child's process tree) plus the wall time of every interval in which
    none of its threads was runnable (sampled: an interval counts at most ``2 * POLL_S`` of wall time, so that a
    parent that was itself kept waiting by a busy machine does not bill the submission for it)."""

    def __init__(self, turn: Turn, child: int, level: str):
        group = turn.cgroup
        self.group = group if group is not None and group.cpu_seconds() is not None else None
        self.child, self.session = child, level == "none"
        self.charged, self.last_t = 0.0, time.monotonic()
        self.last_cpu = self._cpu()[0]

    def _tree(self) -> list[list[str]]:
        """stat fields of the child and every process below it (or in its session, without namespaces)."""
        stats, children = {}, {}
        try:
            entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
        except OSError:
            return []
        for name in entries:
            fields = _stat(f"/proc/{name}/stat")
            if fields is None or len(fields) < 15:
                continue
            pid = int(name)
            stats[pid] = fields
            children.setdefault(int(fields[1]), []).append(pid)
        found, todo = set(), [self.child]
        if self.session:
            todo += [pid for pid, f in stats.items() if int(f[3]) == self.child]
        while todo:
            pid = todo.pop()
            if pid in stats and pid not in found:
                found.add(pid)
                todo += children.get(pid, [])
        return [[str(pid)] + stats[pid] for pid in found]

    def _cpu(self) -> tuple[float, bool | None]:
        """(CPU seconds so far, whether any thread of the submission is runnable: None when none is left)."""
        if self.group is not None:
            cpu = self.group.cpu_seconds() or 0.0
            states = [(_stat(f"/proc/{t}/stat") or ["X"])[0] for t in self.group.threads() | {self.child}]
            alive = [state for state in states if state not in "XZ"]
            return cpu, ("R" in alive) if alive else None
        cpu, runnable, tree = 0.0, False, self._tree()
        for fields in tree:
            cpu += sum(int(v) for v in fields[12:16]) / CLOCK_TICKS   # utime stime cutime cstime
            if not runnable:
                try:
                    tasks = os.listdir(f"/proc/{fields[0]}/task")
                except OSError:
                    tasks = []
                runnable = fields[1] == "R" or any(
                    (_stat(f"/proc/{fields[0]}/task/{t}/stat") or ["S"])[0] == "R" for t in tasks)
        return cpu, runnable if tree else None

    def sample(self) -> float:
        """Add the time since the last sample to the charge; returns the charge."""
        now = time.monotonic()
        cpu, runnable = self._cpu()
        used = max(0.0, cpu - self.last_cpu)   # a drop: an ended process's time left the tree (already counted)
        idle = runnable is False   # (nothing left: the run has ended, no idle time to count)
        self.charged += max(used, min(now - self.last_t, 2 * POLL_S)) if idle else used
        self.last_cpu, self.last_t = cpu, now
        return self.charged


class _Watch:
    """The file descriptors of one run and what came through them."""

    def __init__(self, run: ChildRun, child: int):
        self.run, self.child, self.decoder = run, child, Decoder()
        self.tail, self.init_pid, self.init_fd, self.control = b"", None, None, b""


class Sandbox:
    """Runs jobs in sandboxed children forked by one warm launcher process (``launcher``); one per worker slot.

    ``turn(limits)`` starts one submission (see :class:`Turn`); ``run(job, limits, budget_s, turn)`` blocks until
    the child ends or ``budget_s`` (default ``limits.timeout_s``) has passed, and returns what it reported. A
    launcher that dies is started again on the next run. Use as a context manager, or ``close()``.
    """

    def __init__(self, slot: int = 0, level: str | None = None, threads: int = 1, *, host: Host):
        self.slot, self.level, self.threads, self.host = slot, level or isolation(), threads, host
        self.scratch = tempfile.mkdtemp(prefix="autograder-")
        os.chmod(self.scratch, 0o755)
        self.home = "/tmp" if self.level != "none" else os.path.join(self.scratch, "home")
        os.makedirs(self.home, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.problems: list[str] = []
        cgroups.remove_stale()

    def turn(self, limits: Limits) -> Turn:
        return Turn(self, limits)

    def warm_up(self, assignment_id: str | None = None, device: str = "cpu") -> None:
        """Start the launcher now (it imports torch and, given ``assignment_id``, builds that assignment's context
        at once), so that its start-up overlaps with whatever the caller does before the first run."""
        if self.process is None or self.process.poll() is not None:
            self._start((assignment_id, device) if assignment_id else None)

    def _start(self, preload: tuple[str, str] | None = None) -> None:
        ours, theirs = socket.socketpair()
        host = self.host
        bootstrap = (f"import sys; sys.path[:0] = {list(host.import_paths)!r}; from {__package__}.launcher import "
                     f"main; main({theirs.fileno()}, {preload!r}, {host.registry!r}, {tuple(host.preload)!r})")
        log = open(os.path.join(self.scratch, "launcher.log"), "ab")
        self.process = subprocess.Popen([sys.executable, "-I", "-B", "-c", bootstrap], stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=log, pass_fds=(theirs.fileno(),), cwd=self.scratch,
                                        env=_environment(self.threads, self.home))
        log.close()
        theirs.close()
        self.sock = ours

    def _launcher_log(self) -> str:
        try:
            return Path(self.scratch, "launcher.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def run(self, job: dict, limits: Limits, budget_s: float | None = None, turn: Turn | None = None) -> ChildRun:
        """Run ``job`` once (see the class docstring). Raises :class:`GraderError` when the launcher fails."""
        if turn is None:
            with self.turn(limits) as own:
                return self._run(job, limits, limits.timeout_s if budget_s is None else budget_s, own)
        return self._run(job, limits, limits.timeout_s if budget_s is None else budget_s, turn)

    def _full_job(self, job: dict, limits: Limits, budget_s: float, turn: Turn) -> dict:
        memory_group = turn.cgroup is not None and "memory" in turn.cgroup.folders
        inside = self.level != "none"
        full = {**job, "cwd": turn.home, "memory_mb": limits.memory_mb, "threads": limits.threads,
                "isolation": self.level, "cpu_s": int(budget_s * max(1, limits.threads) + 10),
                "nproc": limits.processes if self.level == "namespaces" else None,
                "cgroups": turn.cgroup.paths if turn.cgroup is not None else [],
                "address_space_mb": None if memory_group or job.get("device") != "cpu" else limits.memory_mb,
                "jail": jail_spec(os.path.join(self.scratch, "root"), turn.uid, self.host) if inside else None}
        if inside:
            os.makedirs(full["jail"]["root"], exist_ok=True)
        return full

    def _run(self, job: dict, limits: Limits, budget_s: float, turn: Turn) -> ChildRun:
        from .launcher import receive_message, send_message

        if self.process is None or self.process.poll() is not None:
            self._start()
        data = memoryview(json.dumps(self._full_job(job, limits, budget_s, turn)).encode())
        run = ChildRun()
        pipes = [os.pipe() for _ in range(4)]   # output, channel, job, control
        (out_r, out_w), (chan_r, chan_w), (job_r, job_w), (ctl_r, ctl_w) = pipes
        try:
            send_message(self.sock, {"assignment": job["assignment"], "device": job["device"]},
                         [out_w, chan_w, job_r, ctl_w])
        except OSError:
            pass
        finally:
            for fd in (out_w, chan_w, job_r, ctl_w):
                os.close(fd)
        try:
            self.sock.settimeout(LAUNCHER_START_S)
            reply, _ = receive_message(self.sock) if self.process.poll() is None else (None, [])
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict) or not isinstance(reply.get("pid"), int):
            for fd in (out_r, chan_r, job_w, ctl_r):
                os.close(fd)
            self._stop_launcher()
            raise GraderError(f"the grader's launcher process died:\n{self._launcher_log()}")
        watch = _Watch(run, reply["pid"])
        try:
            self._watch(watch, data, (out_r, chan_r, job_w, ctl_r), budget_s, turn)
        finally:
            if watch.init_fd is not None:
                os.close(watch.init_fd)
        run.output_tail = watch.tail.decode("utf-8", "replace")
        run.messages, run.channel_problem = watch.decoder.messages, watch.decoder.problem
        run.out_of_memory = turn.cgroup is not None and turn.cgroup.out_of_memory()
        return run

    def _watch(self, w: _Watch, data: memoryview, fds: tuple[int, int, int, int], budget_s: float,
               turn: Turn) -> None:
        """The select loop of one run: output, channel, job, control pipe and launcher socket, one deadline."""
        from .launcher import receive_message

        out_r, chan_r, job_w, ctl_r = fds
        selector = selectors.DefaultSelector()
        for fd, what, events in ((out_r, "out", selectors.EVENT_READ), (chan_r, "chan", selectors.EVENT_READ),
                                 (ctl_r, "ctl", selectors.EVENT_READ), (job_w, "job", selectors.EVENT_WRITE)):
            os.set_blocking(fd, False)
            selector.register(fd, events, what)
        selector.register(self.sock, selectors.EVENT_READ, "sock")
        start = time.monotonic()
        meter = _Meter(turn, w.child, self.level)
        backstop, next_sample = start + max(0.0, turn.wall_left), start + POLL_S
        end, done_at, sent, exited = None, None, 0, False

        def drop(fd: int) -> None:
            selector.unregister(fd)
            os.close(fd)

        try:
            while True:
                now = time.monotonic()
                open_pipes = [k.data for k in selector.get_map().values() if k.data in ("out", "chan")]
                if exited and (not open_pipes or now >= end):
                    break
                if not exited and end is not None and now >= end:   # killed, but the launcher never reported
                    selector.unregister(self.sock)
                    self._stop_launcher(kill=True)
                    break
                if end is None and not exited and now >= next_sample:
                    w.run.charged_s, next_sample = meter.sample(), now + POLL_S
                    if w.run.charged_s >= budget_s:
                        w.run.limit_hit = "cpu"
                    elif now >= backstop:
                        w.run.limit_hit = "wall"
                if not w.run.timed_out and end is None and w.run.limit_hit:
                    w.run.timed_out = True
                    self._kill(w, ctl_r if "ctl" in [k.data for k in selector.get_map().values()] else None, turn)
                    end = now + KILL_GRACE_S
                if done_at is None and any(h.get("event") == "done" for h, _ in w.decoder.messages[-1:]):
                    done_at = now
                if done_at is not None and end is None and now >= done_at + DONE_GRACE_S:
                    self._kill(w, None, turn)   # it said it was done but does not end
                    end = now + KILL_GRACE_S
                wake = [t for t in (next_sample if end is None else end, done_at and done_at + DONE_GRACE_S) if t]
                for key, _ in selector.select(max(0.0, min(wake) - now) if wake else None):
                    what, fd = key.data, key.fd
                    if what == "job":
                        try:
                            sent += os.write(fd, data[sent:sent + 65536])
                        except BlockingIOError:
                            continue
                        except OSError:   # the child died before reading its job
                            sent = len(data)
                        if sent >= len(data):
                            drop(fd)
                    elif what == "sock":
                        selector.unregister(self.sock)
                        try:
                            self.sock.settimeout(KILL_GRACE_S)
                            reply, _ = receive_message(self.sock)
                        except (OSError, ValueError):
                            reply = None
                        if isinstance(reply, dict) and isinstance(reply.get("exit"), int):
                            w.run.returncode = reply["exit"]
                        else:
                            self._stop_launcher(kill=True)
                        if not w.run.timed_out:
                            w.run.charged_s = meter.sample()
                        exited, end = True, time.monotonic() + DRAIN_S
                        w.run.elapsed_s = time.monotonic() - start
                    else:
                        try:
                            chunk = os.read(fd, 65536)
                        except BlockingIOError:
                            continue
                        if not chunk:
                            drop(fd)
                        elif what == "out":
                            w.run.output_bytes += len(chunk)
                            w.tail = (w.tail + chunk)[-OUTPUT_TAIL:]
                        elif what == "chan":
                            w.decoder.feed(chunk)
                        elif what == "ctl":
                            w.control += chunk[:64]
                            self._open_init(w)
        finally:
            for key in list(selector.get_map().values()):
                if isinstance(key.fileobj, int):   # our pipe ends (never the launcher's socket)
                    os.close(key.fd)
            selector.close()
            if self.sock is not None:
                self.sock.settimeout(None)
        if not w.run.elapsed_s:
            w.run.elapsed_s = time.monotonic() - start
        turn.wall_left -= w.run.elapsed_s
        if self.level == "none":
            self._kill(w, None)   # whatever the child left running in its session

    def _open_init(self, w: _Watch) -> None:
        """Pin the pid-namespace init the supervisor reported: a pidfd, taken only while it is still the
        supervisor's child (so a recycled pid can never be hit)."""
        if w.init_pid is not None or b"\n" not in w.control:
            return
        try:
            pid = int(w.control.split(b"\n", 1)[0])
            fd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            return
        if parent != w.child:
            if fd is not None:
                os.close(fd)
            return
        w.init_pid, w.init_fd = pid, fd

    def _kill(self, w: _Watch, ctl_r: int | None, turn: Turn | None = None) -> None:
        """SIGKILL the run's pid-namespace init (every process of the namespace dies with it); before the
        namespace exists, the supervisor (its init, if just forked, dies by its parent-death signal). Without
        namespaces: the child's whole session. The turn's CPU quota is lifted first: dying processes tear down
        their memory on the submission's CPU share, and a thousand of them should not take minutes."""
        if turn is not None and turn.cgroup is not None:
            turn.cgroup.release_cpu()
        if ctl_r is not None and w.init_pid is None:
            try:
                w.control += os.read(ctl_r, 64)
                self._open_init(w)
            except OSError:
                pass
        targets = []
        if self.level == "none":
            targets = [lambda: os.killpg(w.child, signal.SIGKILL), lambda: os.kill(w.child, signal.SIGKILL)]
        elif w.init_fd is not None:
            targets = [lambda: signal.pidfd_send_signal(w.init_fd, signal.SIGKILL)]
        elif w.init_pid is not None:
            targets = [lambda: os.kill(w.init_pid, signal.SIGKILL)]
        else:
            targets = [lambda: os.kill(w.child, signal.SIGKILL)]
        for kill in targets:
            try:
                kill()
            except OSError:
                pass

    def _stop_launcher(self, kill: bool = False) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.process is not None:
            if kill:
                self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def close(self) -> None:
        """Stop the launcher and remove the scratch folder."""
        self._stop_launcher()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
