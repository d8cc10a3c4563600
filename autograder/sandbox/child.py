"""The sandboxed child: a fork of the warm launcher that runs one submission's code and reports what it did.

``run(context, out_fd, channel_fd, job_fd)`` never returns. It reads its job (JSON) from ``job_fd``, locks the
process in (namespaces, ``jail.enter``,
resource limits), executes the student's cells and runs the probes, sending each step's start and result on the
channel (``wire`` messages: JSON headers and ``.npz`` arrays). It decides nothing about grades: the parent compares.
"""
from __future__ import annotations

import os
import resource
import select
import sys


def set_limits(memory_mb: int, cpu_s: int, nproc: int | None) -> None:
    """Hard resource limits for this process and everything it starts (they cannot be raised again)."""
    mb = 2**20
    limits = [(resource.RLIMIT_DATA, memory_mb * mb), (resource.RLIMIT_CPU, cpu_s),
              (resource.RLIMIT_FSIZE, 256 * mb), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 1024)]
    if nproc is not None:
        limits.append((resource.RLIMIT_NPROC, nproc))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _read_job(job_fd: int) -> dict:
    import json

    with os.fdopen(job_fd, "rb") as f:
        return json.loads(f.read(64 * 2**20))


def _redirect(out_fd: int, channel_fd: int) -> int:
    """stdout and stderr to ``out_fd``, stdin from /dev/null, the channel at fd 3, every other fd closed."""
    import fcntl

    out_fd, channel_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (out_fd, channel_fd))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd in (1, 2):
        os.dup2(out_fd, fd)
    os.dup2(channel_fd, 3)
    os.closerange(4, 65536)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
    return 3


def _enter_sandbox(job: dict) -> None:
    """Namespaces + jail (a second fork makes this process PID 1 of its pid namespace), or just a new session."""
    if not job.get("jail"):
        os.setsid()
        return
    from .jail import enter, unshare_namespaces

    unshare_namespaces(job["isolation"] == "user-namespaces")
    lifeline_r, lifeline_w = os.pipe()
    pid = os.fork()
    if pid:  # the supervisor outside the pid namespace: wait, then exit like PID 1 did
        os.close(lifeline_r)
        _, status = os.waitpid(pid, 0)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    os.close(lifeline_w)
    enter(job["jail"])  # ... which re-arms the parent-death signal after dropping privileges
    if select.select([lifeline_r], [], [], 0)[0]:  # the supervisor died before the signal was armed
        os._exit(1)


def run(context, out_fd: int, channel_fd: int, job_fd: int) -> None:
    """The forked child's whole life (see the module docstring)."""
    try:
        job = _read_job(job_fd)
        channel_fd = _redirect(out_fd, channel_fd)
        _enter_sandbox(job)
        os.chdir(job["cwd"])
        set_limits(job["memory_mb"], job["cpu_s"], job.get("nproc"))
        _run_job(job, context, os.fdopen(channel_fd, "wb", buffering=0))
    except BaseException:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(70)
    os._exit(0)


def _run_job(job: dict, context, channel) -> None:
    # Everything the harness needs is bound to local names before the student's code can patch modules.
    from ..assignments import load_assignment
    from .device_shim import cuda_on_cpu
    from ..extract import Cell
    from .runner import exec_cell, new_namespace, run_probe
    from .wire import encode_arrays, send

    import torch

    torch.set_num_threads(job["threads"])
    probes = {p.name: p for p in load_assignment(job["assignment"]).probes}
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
    send(channel, {"event": "done"})
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: a student's __del__ or atexit hook never runs after the results
