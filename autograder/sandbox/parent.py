"""Starting the sandboxed child and collecting what it reports (parent side).

Isolation, strongest available first (``isolation()``):

- ``"namespaces"`` (running as root): new mount/pid/net/ipc/uts namespaces, a minimal read-only root
  (``jail``) and an unprivileged uid per worker slot;
- ``"user-namespaces"`` (not root, unprivileged user namespaces allowed): the same inside a user namespace, with
  every capability dropped;
- ``"none"``: resource limits, a throw-away folder and a session to kill; the student's code can read what the
  grader's user can. The CLI warns loudly.

Children are forks of a warm launcher process (``launcher``), so a run costs milliseconds, not the seconds
of importing torch. Always: a wall-clock timeout (the whole process tree is killed), a memory cap
(``RLIMIT_DATA``), CPU and file size limits, a clean environment with no network settings, and output drained
through pipes with a cap.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .wire import Reader

ISOLATION_LEVELS = ("namespaces", "user-namespaces", "none")
SANDBOX_UID_BASE = 61000          # worker slot k runs as uid/gid SANDBOX_UID_BASE + k
OUTPUT_TAIL = 8 * 1024            # bytes of the student's printed output kept for the feedback
NAMESPACE_FLAGS = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    memory_mb: int = 4096
    threads: int = 1


@dataclass
class ChildRun:
    """What one child process reported: its messages in order, how it ended, and the tail of its output."""
    messages: list = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    output_tail: str = ""
    output_bytes: int = 0
    channel_problem: str | None = None


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


NOT_IN_SANDBOX = ("nbgrader_config.py",)


def _package_files(package_dir: Path) -> list[str]:
    """The autograder's own Python files the child needs: the package's top level, ``checks/`` and ``sandbox/``
    (never ``examples/``, the nbgrader config or the gradebook)."""
    files = [p for p in sorted(package_dir.glob("*.py")) if p.name not in NOT_IN_SANDBOX]
    files += sorted((package_dir / "checks").glob("*.py")) + sorted((package_dir / "sandbox").glob("*.py"))
    return [str(p) for p in files]


def jail_spec(root: str, slot: int, level: str) -> dict:
    """What ``jail.enter`` builds: read-only binds, device nodes, symlinks, /tmp size, uid."""
    import hwlib
    from hwlib._paths import data_dir

    top_level, symlinks = [], {}
    for name in ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            symlinks[path] = os.readlink(path)
        elif os.path.isdir(path):
            top_level.append(path)
    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    packages = [str(Path(hwlib.__file__).resolve().parent), str(data_dir().resolve())]
    binds = top_level + sorted(p for p in python if not any(p.startswith(t + "/") for t in top_level))
    binds += packages + _package_files(Path(__file__).resolve().parents[1])
    if os.path.isdir("/sys"):
        binds.append("/sys")
    devices = [d for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
               if os.path.exists(d)]
    devices += sorted(str(p) for p in Path("/dev").glob("nvidia*") if p.is_char_device())
    devices += sorted(str(p) for p in Path("/dev/nvidia-caps").glob("*") if p.is_char_device())
    return {"root": root, "binds": binds, "devices": devices, "symlinks": symlinks, "tmp_mb": 512,
            "uid": SANDBOX_UID_BASE + slot if level == "namespaces" else None}


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


def _drain(stream, run: ChildRun) -> None:
    """Read the child's stdout+stderr to the end, keeping only the last OUTPUT_TAIL bytes."""
    tail = b""
    while chunk := stream.read(65536):
        run.output_bytes += len(chunk)
        tail = (tail + chunk)[-OUTPUT_TAIL:]
    run.output_tail = tail.decode("utf-8", "replace")


def _write_job(fd: int, job: dict) -> None:
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(job).encode())
    except OSError:  # the child died before reading it
        pass


def _collect(stream, run: ChildRun) -> None:
    reader = Reader(stream)
    for header, payload in reader:
        run.messages.append((header, payload))
    run.channel_problem = reader.problem
    stream.read()  # drain whatever follows a malformed message, so the child never blocks on a full pipe


class Sandbox:
    """Runs jobs in sandboxed children forked by one warm launcher process (``launcher``); one per worker slot.

    ``run(job, limits)`` blocks until the child ends (or is killed at ``limits.timeout_s``) and returns what it
    reported. A launcher that dies is started again on the next run. Use as a context manager, or ``close()``.
    """

    def __init__(self, slot: int = 0, level: str | None = None, threads: int = 1):
        self.slot, self.level, self.threads = slot, level or isolation(), threads
        self.scratch = tempfile.mkdtemp(prefix="autograder-")
        os.chmod(self.scratch, 0o755)
        self.home = "/tmp" if self.level != "none" else os.path.join(self.scratch, "home")
        os.makedirs(self.home, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None

    def _start(self) -> None:
        import hwlib

        parents = sorted({str(Path(p).resolve().parents[n]) for p, n in ((__file__, 2), (hwlib.__file__, 1))})
        ours, theirs = socket.socketpair()
        bootstrap = (f"import sys; sys.path[:0] = {parents!r}; from autograder.sandbox.launcher import main; "
                     f"main({theirs.fileno()})")
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

    def run(self, job: dict, limits: Limits) -> ChildRun:
        from .launcher import receive_message, send_message

        if self.process is None or self.process.poll() is not None:
            self._start()
        inside = self.level != "none"
        job = {**job, "cwd": self.home, "memory_mb": limits.memory_mb, "threads": limits.threads,
               "isolation": self.level, "cpu_s": int(limits.timeout_s * max(1, limits.threads) + 30),
               "nproc": 1024 if self.level == "namespaces" else None,
               "jail": jail_spec(os.path.join(self.scratch, "root"), self.slot, self.level) if inside else None}
        if inside:
            os.makedirs(job["jail"]["root"], exist_ok=True)
        run = ChildRun()
        (out_r, out_w), (chan_r, chan_w), (job_r, job_w) = os.pipe(), os.pipe(), os.pipe()
        try:
            send_message(self.sock, {"assignment": job["assignment"], "device": job["device"]},
                         [out_w, chan_w, job_r])
        except OSError:
            pass
        finally:
            for fd in (out_w, chan_w, job_r):
                os.close(fd)
        out, channel = os.fdopen(out_r, "rb"), os.fdopen(chan_r, "rb")
        readers = [threading.Thread(target=_drain, args=(out, run), daemon=True),
                   threading.Thread(target=_collect, args=(channel, run), daemon=True),
                   threading.Thread(target=_write_job, args=(job_w, job), daemon=True)]
        for t in readers:
            t.start()
        reply, _ = receive_message(self.sock) if self.process.poll() is None else (None, [])
        if reply is None:
            self._stop_launcher()
            raise RuntimeError(f"the grader's launcher process died:\n{self._launcher_log()}")
        pid = int(reply["pid"])
        self.sock.settimeout(limits.timeout_s)
        try:
            reply, _ = receive_message(self.sock)
        except socket.timeout:
            run.timed_out = True
            _kill(pid, self.level)
            self.sock.settimeout(None)
            reply, _ = receive_message(self.sock)
        self.sock.settimeout(None)
        if self.level == "none":
            _kill(pid, self.level)  # whatever the child left running in its session
        run.returncode = None if reply is None else int(reply["exit"])
        for t in readers:
            t.join(timeout=10)
        out.close()
        channel.close()
        return run

    def _stop_launcher(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.process is not None:
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


def _kill(pid: int, level: str) -> None:
    """SIGKILL the child: in a pid namespace its PID 1 dies with its supervisor (parent-death signal), and the
    namespace with it; without one, the child's whole session."""
    for kill in ((lambda: os.killpg(pid, signal.SIGKILL)) if level == "none" else (lambda: None),
                 lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass
