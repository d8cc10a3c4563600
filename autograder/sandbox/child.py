"""The sandboxed child: a fork of the warm launcher that runs one submission's code and reports what it did.

``run(assignment, context, out_fd, channel_fd, job_fd, control_fd)`` never returns. It reads its job (JSON)
from ``job_fd``, joins the submission's control groups and locks itself in. With namespaces there are three
processes, and only the last one ever runs student code:

    supervisor (outside)  ── forks ──▶  init (PID 1 of a new pid namespace, in the jail, privileged, reaps)
                                          └── forks ──▶  student process (fresh uid or no capabilities, limits)

The supervisor reports the init's pid to the parent on ``control_fd`` (nobody else holds that pipe) and waits;
the parent kills that init when the submission's time is up, which takes down every process of the namespace.
The init exits as soon as the student process does, with its status, which ends the namespace too.

The student process executes the student's cells and runs the probes, sending each step's start and result on the
channel (``wire`` messages: JSON headers and ``.npz`` arrays). It decides nothing about grades: the parent compares.
Without namespaces (isolation ``"none"``) the child itself runs the student's code in a new session.
"""
from __future__ import annotations

import os
import resource
import select
import sys

CONTROL_FD = 4


def set_limits(memory_mb: int, cpu_s: int, nproc: int | None, address_space_mb: int | None = None) -> None:
    """Hard resource limits for this process and everything it starts (they cannot be raised again).
    ``address_space_mb`` (``RLIMIT_AS``, which also counts shared memory) is added on top of what the process
    already maps: the fallback where no memory control group bounds the submission."""
    mb = 2**20
    limits = [(resource.RLIMIT_DATA, memory_mb * mb), (resource.RLIMIT_CPU, cpu_s),
              (resource.RLIMIT_FSIZE, 256 * mb), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 1024)]
    if nproc is not None:
        limits.append((resource.RLIMIT_NPROC, nproc))
    if address_space_mb is not None:
        limits.append((resource.RLIMIT_AS, _mapped_bytes() + address_space_mb * mb))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _mapped_bytes() -> int:
    """The virtual size of this process (what RLIMIT_AS counts), from /proc/self/statm."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _read_job(job_fd: int) -> dict:
    import json

    with os.fdopen(job_fd, "rb") as f:   # written by the parent, its code cells already capped (Limits)
        return json.loads(f.read())


def _redirect(out_fd: int, channel_fd: int, control_fd: int) -> int:
    """stdout and stderr to ``out_fd``, stdin from /dev/null, the channel at fd 3, the control pipe at fd 4,
    every other fd closed."""
    import fcntl

    out_fd, channel_fd, control_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (out_fd, channel_fd, control_fd))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd in (1, 2):
        os.dup2(out_fd, fd)
    os.dup2(channel_fd, 3)
    os.dup2(control_fd, CONTROL_FD)
    os.closerange(CONTROL_FD + 1, 65536)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
    return 3


def _exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _supervise(init: int) -> None:
    """The supervisor outside the pid namespace: report the init's pid, wait for it, exit like it did."""
    os.write(CONTROL_FD, f"{init}\n".encode())
    os.close(CONTROL_FD)
    os.close(3)
    _, status = os.waitpid(init, 0)
    os._exit(_exit_code(status))


def _be_init(student: int) -> None:
    """PID 1 of the namespace: reap every process that ends up here; exit when the student process exits (the
    kernel then kills whatever else is left in the namespace)."""
    os.close(3)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(70)
        except InterruptedError:
            continue
        if pid == student:
            os._exit(_exit_code(status))


def _enter_sandbox(job: dict) -> None:
    """Namespaces + jail + supervisor/init/student processes (see the module docstring); returns only in the
    student process. Without namespaces: a new session."""
    from . import jail

    if not job.get("jail"):
        os.close(CONTROL_FD)
        os.setsid()
        jail.drop_privileges(None)   # as root: no capability left (no raising a hard rlimit, no writing the
        return                       # control groups' limit files, which belong to another user)
    jail.unshare_namespaces(job["isolation"] == "user-namespaces")
    lifeline_r, lifeline_w = os.pipe()
    init = os.fork()
    if init:
        os.close(lifeline_r)
        _supervise(init)
    os.close(lifeline_w)
    os.close(CONTROL_FD)
    jail.enter(job["jail"])  # the jail, then this process becomes the supervising init
    if select.select([lifeline_r], [], [], 0)[0]:  # the supervisor died before the parent-death signal was armed
        os._exit(1)
    os.close(lifeline_r)
    student = os.fork()
    if student:
        _be_init(student)
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)   # Python's usual dispositions again
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    jail.drop_privileges(job["jail"].get("uid"))


def run(assignment, context, out_fd: int, channel_fd: int, job_fd: int, control_fd: int) -> None:
    """The forked child's whole life (see the module docstring)."""
    try:
        import gc

        gc.enable()   # off in the launcher, which froze its own objects before forking (see ``launcher.main``)
        from . import cgroups, jail

        jail.set_parent_death_signal()  # the launcher's child dies with the launcher
        job = _read_job(job_fd)
        cgroups.join(job.get("cgroups") or [])
        channel_fd = _redirect(out_fd, channel_fd, control_fd)
        _enter_sandbox(job)
        home = job["cwd"]
        os.environ.update({"HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home, "HWLIB_CACHE": home,
                           "TORCH_HOME": home})
        os.chdir(home)
        set_limits(job["memory_mb"], job["cpu_s"], job.get("nproc"), job.get("address_space_mb"))
        _run_job(job, assignment, context, os.fdopen(channel_fd, "wb", buffering=0))
    except BaseException:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(70)
    os._exit(0)


def _run_job(job: dict, assignment, context, channel) -> None:
    # Everything the harness needs is bound to local names before the student's code can patch modules.
    import torch

    from ..extract import Cell
    from ..runner import exec_cell, new_namespace, run_probe
    from .device_shim import cuda_on_cpu
    from .wire import encode_arrays, send

    torch.set_num_threads(job["threads"])
    probes = {p.name: p for p in assignment.probes}
    send(channel, {"event": "start", "step": "context"})
    if job["device"] != "cpu":
        torch.zeros(1, device=job["device"])  # CUDA starts here, not inside a student's step
    namespace = new_namespace()
    with cuda_on_cpu(job["device"] == "cpu"):
        for cell in (Cell(**c) for c in job["cells"]):
            send(channel, {"event": "start", "step": f"cell:{cell.name}:{cell.index}"})
            error = exec_cell(cell, namespace)
            send(channel, {"event": "cell", "name": cell.name, "index": cell.index, "error": error})
        for name in job["probes"]:
            send(channel, {"event": "start", "step": f"probe:{name}"})
            outcome = run_probe(probes[name], namespace, context)
            payload, error = b"", outcome.error
            if outcome.outputs is not None:
                try:
                    payload = encode_arrays(outcome.outputs)
                except Exception as err:  # numpy patched or broken by the student's code
                    error = f"the outputs of `{probes[name].function}` could not be saved ({type(err).__name__})."
            send(channel, {"event": "probe", "name": name, "error": error}, payload)
    sys.stdout.flush()
    send(channel, {"event": "done"})
    os._exit(0)  # no interpreter teardown: a student's __del__ or atexit hook never runs after the results
