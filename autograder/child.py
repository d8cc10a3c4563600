"""The sandboxed child: ``python -m autograder.child`` (started by ``sandbox.run_child``, never by hand).

Reads one job (JSON) from stdin, locks itself in (``jail.enter`` and resource limits), then executes the
student's cells and runs the probes, sending each step's start and result to the parent on an inherited pipe
(``wire`` messages: JSON headers and ``.npz`` arrays). It decides nothing about grades: the parent compares.
"""
from __future__ import annotations

import json
import os
import resource
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


def main() -> None:
    job = json.loads(sys.stdin.buffer.read(64 * 2**20))
    channel = os.fdopen(job["channel_fd"], "wb", buffering=0)
    if job.get("jail"):
        from .jail import enter

        enter(job["jail"])
    os.chdir(job["cwd"])
    set_limits(job["memory_mb"], job["cpu_s"], job.get("nproc"))

    # Everything the harness needs is bound to local names before the student's code can patch modules.
    from .wire import encode_arrays, send
    from .assignments import load_assignment
    from .device_shim import cuda_on_cpu
    from .extract import Cell
    from .runner import exec_cell, new_namespace, run_probe

    import torch

    torch.set_num_threads(job["threads"])
    assignment = load_assignment(job["assignment"])
    probes = {p.name: p for p in assignment.probes}

    send(channel, {"event": "start", "step": "context"})
    context = assignment.make_context(job["device"])
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


if __name__ == "__main__":
    main()
