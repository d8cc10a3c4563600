"""Starting the sandboxed child and collecting what it reports (parent side).

Isolation, strongest available first (``isolation()``):

- ``"namespaces"`` (running as root): ``unshare`` mount/pid/net/ipc/uts namespaces, a minimal read-only root
  (``jail``) and an unprivileged uid per worker slot;
- ``"user-namespaces"`` (not root, unprivileged user namespaces allowed): the same inside a user namespace, with
  every capability dropped;
- ``"none"``: resource limits, a throw-away folder and a session to kill; the student's code can read what the
  grader's user can. The CLI warns loudly.

Always: a wall-clock timeout (the whole process tree is killed), a memory cap (``RLIMIT_DATA``), CPU and file size
limits, a clean environment with no network settings, and output drained through pipes with a cap.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
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
    stderr_of_setup: str = ""


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
    if sys.platform != "linux" or not (shutil.which("unshare") and shutil.which("setpriv")) or wanted == "none":
        return "none"
    probe = ["unshare", *NAMESPACE_FLAGS, "true"]
    if os.geteuid() == 0 and wanted != "user-namespaces" and _works(probe):
        return "namespaces"
    if _works(["unshare", "--user", "--map-root-user", *NAMESPACE_FLAGS, "true"]):
        return "user-namespaces"
    return "none"


NOT_IN_SANDBOX = ("nbgrader_config.py", "make_examples.py", "examples_code.py")


def _package_files(package_dir: Path) -> list[str]:
    """The autograder's own Python files the child needs (no examples, nbgrader config or gradebook)."""
    files = [p for p in sorted(package_dir.glob("*.py")) if p.name not in NOT_IN_SANDBOX]
    files += sorted((package_dir / "checks").glob("*.py"))
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
    binds += packages + _package_files(Path(__file__).resolve().parent)
    if os.path.isdir("/sys"):
        binds.append("/sys")
    devices = [d for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
               if os.path.exists(d)]
    devices += sorted(str(p) for p in Path("/dev").glob("nvidia*") if p.is_char_device())
    devices += sorted(str(p) for p in Path("/dev/nvidia-caps").glob("*") if p.is_char_device())
    return {"root": root, "binds": binds, "devices": devices, "symlinks": symlinks, "tmp_mb": 512,
            "uid": SANDBOX_UID_BASE + slot if level == "namespaces" else None}


def _command(level: str) -> list[str]:
    import hwlib

    package_parents = sorted({str(Path(__file__).resolve().parent.parent), str(Path(hwlib.__file__).resolve().parent.parent)})
    bootstrap = f"import sys; sys.path[:0] = {package_parents!r}; from autograder.child import main; main()"
    python = [sys.executable, "-I", "-B", "-c", bootstrap]
    if level == "namespaces":
        return ["setpriv", "--pdeathsig", "KILL", "--", "unshare", *NAMESPACE_FLAGS, "--", *python]
    if level == "user-namespaces":
        return ["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--user", "--map-root-user", *NAMESPACE_FLAGS,
                "--", *python]
    return python


def _environment(threads: int, home: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1",
           "HWLIB_CACHE": home, "TORCH_HOME": home, "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONHASHSEED": "0", "PYTHONWARNINGS": "ignore"}
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


def _collect(stream, run: ChildRun) -> None:
    reader = Reader(stream)
    for header, payload in reader:
        run.messages.append((header, payload))
    run.channel_problem = reader.problem
    stream.read()  # drain whatever follows a malformed message, so the child never blocks on a full pipe


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the child's pid-namespace init (taking the namespace with it) and the whole session."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        children = []
    for pid in [int(c) for c in children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def run_child(job: dict, limits: Limits, slot: int = 0, level: str | None = None) -> ChildRun:
    """Run ``python -m autograder.child`` on ``job`` (sandbox fields added here) and collect its report."""
    level = level or isolation()
    scratch = tempfile.mkdtemp(prefix="autograder-")
    os.chmod(scratch, 0o755)
    run = ChildRun()
    inside = level != "none"
    home = "/tmp" if inside else os.path.join(scratch, "home")
    if not inside:
        os.makedirs(home)
    job = {**job, "cwd": home, "memory_mb": limits.memory_mb, "threads": limits.threads,
           "cpu_s": int(limits.timeout_s * max(1, limits.threads) + 30),
           "nproc": 1024 if level == "namespaces" else None,
           "jail": jail_spec(os.path.join(scratch, "root"), slot, level) if inside else None}
    if inside:
        os.makedirs(job["jail"]["root"])
    read_fd, write_fd = os.pipe()
    job["channel_fd"] = write_fd
    try:
        proc = subprocess.Popen(_command(level), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=(write_fd,), env=_environment(limits.threads, home),
                                cwd=scratch, start_new_session=True)
    finally:
        os.close(write_fd)
    channel = os.fdopen(read_fd, "rb")
    threads = [threading.Thread(target=_drain, args=(proc.stdout, run), daemon=True),
               threading.Thread(target=_collect, args=(channel, run), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.stdin.write(json.dumps(job).encode())
        proc.stdin.close()
    except OSError:
        pass
    deadline = time.monotonic() + limits.timeout_s
    try:
        proc.wait(timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        run.timed_out = True
    _kill_tree(proc)  # also reaps anything the student left running in "none" mode
    proc.wait()
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic() + 5))
    channel.close()
    run.returncode = proc.returncode
    shutil.rmtree(scratch, ignore_errors=True)
    return run
