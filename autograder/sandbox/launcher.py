"""The warm launcher: one long-lived, trusted process per worker slot that forks a sandboxed child per run.

Importing torch and hwlib and building an assignment's context takes seconds; forking a process that already has
them takes milliseconds. The launcher does that work once, never runs student code itself and never touches
CUDA (a forked child could not use it otherwise). Per request from the parent (the assignment and device, plus
four pipe ends passed over a Unix socket: the child's stdout+stderr, its result channel, the pipe its job
arrives on and the control pipe on which the child reports its pid-namespace init) it forks ``child.run``, tells
the parent the child's pid, reaps it and reports its exit code. The job
itself (the student's code) goes straight to the child: the launcher never holds one student's code in memory
that the next student's fork could dig out.

Protocol on the socket (both ways): 4-byte big-endian length + JSON; a request's pipe ends ride with its first
bytes (SCM_RIGHTS).
"""
from __future__ import annotations

import json
import os
import socket
import struct
import sys


def send_message(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    frame = struct.pack(">I", len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [frame[:4]], fds)
        frame = frame[sent:]
    sock.sendall(frame)


def receive_message(sock: socket.socket, want_fds: int = 0) -> tuple[dict | None, list[int]]:
    """The next message and the fds that came with it; ``(None, [])`` at EOF."""
    head, fds = b"", []
    while len(head) < 4:
        if want_fds and not fds:
            chunk, fds, _, _ = socket.recv_fds(sock, 4 - len(head), want_fds)
        else:
            chunk = sock.recv(4 - len(head))
        if not chunk:
            return None, fds
        head += chunk
    (size,) = struct.unpack(">I", head)
    body = b""
    while len(body) < size:
        chunk = sock.recv(min(1 << 20, size - len(body)))
        if not chunk:
            return None, fds
        body += chunk
    return json.loads(body), fds


def _function(name: str):
    """The function ``"module:function"`` names (the grader's registry lookup, given as a parameter)."""
    import importlib

    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def main(control_fd: int, preload: tuple[str, str] | None = None, registry: str = "",
         modules: tuple[str, ...] = ()) -> None:
    """Serve fork requests on ``control_fd``. ``preload`` = (assignment id, device) builds that context at once;
    ``registry`` = ``"module:function"`` maps an assignment id to its assignment; ``modules`` are imported once,
    here (the student package), so that every fork has them.

    Garbage collection stays off in the launcher (Python's recipe for a process that forks without exec): the
    imports create millions of objects and no garbage worth collecting (torch and the compiler package import
    ~15 % faster without it), and ``gc.freeze()`` before each fork moves everything to the permanent generation, so
    that a child's collections never walk, and copy, the launcher's objects. The child turns it on again
    (``child.run``): the student's code runs with ordinary garbage collection."""
    import gc
    import importlib

    gc.disable()
    import torch

    torch.set_num_threads(1)  # no thread pool exists when we fork
    for module in modules:
        importlib.import_module(module)
    load_assignment = _function(registry)

    from .child import run

    sock = socket.socket(fileno=control_fd)
    loaded = {}   # (assignment id, device) -> (assignment, context)

    def load(key: tuple[str, str]) -> tuple:
        if key not in loaded:
            assignment = load_assignment(key[0])
            context = assignment.make_context(key[1])
            warm = getattr(context, "warm", None)   # what the probes load on first use, loaded once, before forks
            if callable(warm):
                warm()
            loaded[key] = (assignment, context)
        return loaded[key]

    if preload is not None:
        load(tuple(preload))
    while True:
        request, fds = receive_message(sock, want_fds=4)
        if request is None:   # the parent closed the socket: exit at once (an interpreter holding torch takes
            sys.stdout.flush()   # half a second to tear down, and nothing here needs tearing down)
            sys.stderr.flush()
            os._exit(0)
        assignment, context = load((str(request["assignment"]), str(request["device"])))
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            sock.close()
            run(assignment, context, *fds)   # never returns
        for fd in fds:
            os.close(fd)
        send_message(sock, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        send_message(sock, {"exit": code})


if __name__ == "__main__":
    main(int(sys.argv[1]))
