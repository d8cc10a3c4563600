"""The hidden test cells of the solution notebooks call this, inside the kernel that ``nbgrader autograde`` runs:

    from autograder.notebook_checks import run_hidden_checks
    run_hidden_checks("<assignment id>", "<function>", globals())

It runs the same probes and checks as the fast grader (one definition of each), prints one line per check and
raises ``AssertionError`` with the messages of the failed ones. It writes nothing to stderr (nbgrader gives a
cell that does 0 points).

What stays in the kernel and what does not. nbgrader runs the student's cells and the hidden cells in ONE
process, as the instructor's user, so only this much can be done there:

- the probes run in the kernel (they call the student's functions); their outputs, as plain arrays, go to a
  separate *verifier* process (``python -I -m autograder.notebook_checks``, started once per kernel) that
  computes the reference from the solution notebook, judges, and sends back verdicts only. No reference output
  and no quiz key is ever held in the kernel, and the kernel never reads or writes the fast grader's cache or
  state (the verifier does not write them either);
- before it runs, ``run_hidden_checks`` compares the code of the in-kernel functions it relies on (this module,
  the probe runner, the array encoder) with a fresh compilation of their files, and fails the cell when the
  student's code replaced one of them.

What remains (inherent to nbgrader, measured by tests/autograder/test_nbgrader_kernel.py): the student's code
runs first in the same process, so it can replace ``run_hidden_checks`` itself (or ``sys.modules``, or
``builtins.__import__``) before the hidden cell imports it, and the cell then passes without checking anything;
it can read the solution notebook from disk (it runs as the instructor), and it can start its own verifier and
ask it about any answer, quiz answers included. ``python -m autograder grade`` (sandboxed, comparison outside the
student's process) is the grader for grades that count.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import warnings
from typing import Sequence


@contextlib.contextmanager
def _silent_stderr():
    """No warnings, and nothing written to stderr by Python or by C/C++ code (fd 2), while active."""
    sys.stderr.flush()
    saved_fd, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull)


# ---------------------------------------------------------------------------------------------------- framing
def _send(stream, header: dict, payloads: Sequence[bytes] = ()) -> None:
    data = json.dumps(header).encode()
    stream.write(struct.pack(">I", len(data)) + data + b"".join(payloads))
    stream.flush()


def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the verifier's pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(stream) -> dict:
    (size,) = struct.unpack(">I", _read_exact(stream, 4))
    if size > 1 << 20:
        raise ValueError("message header too large")
    return json.loads(_read_exact(stream, size))


# ------------------------------------------------------------------------------------------- kernel side
class _Verifier:
    """The verifier process of this kernel (one request at a time)."""

    def __init__(self):
        env = {**os.environ, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "PYTHONWARNINGS": "ignore"}
        self.process = subprocess.Popen([sys.executable, "-I", "-m", "autograder.notebook_checks"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=env, cwd="/")
        self.lock = threading.Lock()

    def verify(self, assignment_id: str, checks: list[str], observed: dict) -> list[tuple[str, bool, str]]:
        from .sandbox.wire import encode_arrays

        probes, payloads = {}, []
        for name, (outputs, error) in observed.items():
            payload = b""
            if outputs is not None:
                try:
                    payload = encode_arrays(outputs)
                except Exception as err:
                    outputs, error = None, f"the outputs could not be saved ({type(err).__name__})."
            probes[name] = {"error": error, "nbytes": len(payload)}
            payloads.append(payload)
        with self.lock:
            _send(self.process.stdin, {"assignment": assignment_id, "checks": checks, "probes": probes}, payloads)
            reply = _receive(self.process.stdout)
        if "error" in reply:
            raise RuntimeError(f"the verifier failed: {reply['error']}")
        return [(str(n), bool(p), str(m)) for n, p, m in reply["results"]]


_VERIFIER: list[_Verifier] = []


def _verifier() -> _Verifier:
    if not _VERIFIER or _VERIFIER[0].process.poll() is not None:
        _VERIFIER[:] = [_Verifier()]
    return _VERIFIER[0]


#: The last run of each probe in this kernel, with the namespace it ran in and that namespace's user-visible values:
#: a function's hidden cells follow one another, one per check, and several checks judge one probe; like the fast
#: grader, which runs each probe once per submission, they judge one run of it while nothing the probe can read
#: has changed (a cell that redefines or rebinds anything runs it again). Outputs a student could forge here they
#: could as well return from their function: the kernel is the student's (see the module docstring).
_OBSERVED: dict[tuple[str, str, str], tuple[dict, tuple, tuple]] = {}


def _visible(namespace: dict) -> tuple:
    """The namespace's ``(name, value)`` pairs that a student's code sets (IPython's ``_``, ``_i3``, ``Out``... change
    with every cell)."""
    return tuple((k, v) for k, v in namespace.items() if not k.startswith("_") and k not in ("In", "Out"))


def _unchanged(before: tuple, now: tuple) -> bool:
    """The same names bound to the same objects."""
    return len(before) == len(now) and all(a == c and b is d for (a, b), (c, d) in zip(before, now))


def check_function(assignment_id: str, function_name: str, namespace: dict,
                   checks: Sequence[str] | None = None) -> list[tuple[str, bool, str]]:
    """``(check name, passed, message)`` for every check of ``function_name`` (or only those named in ``checks``):
    the probes run in this process, the verdicts come from the verifier process."""
    import torch

    from .assignments import load_assignment
    from .sandbox.device_shim import cuda_on_cpu
    from .runner import run_probe

    assignment = load_assignment(assignment_id)
    selected = assignment.checks_for(function_name)
    if not selected:
        raise ValueError(f"{assignment_id} has no checks for {function_name!r}; functions: {assignment.functions}")
    if checks is not None:
        unknown = sorted(set(checks) - {c.name for c in selected})
        if unknown:
            raise ValueError(f"{assignment_id}: {function_name!r} has no checks named {unknown}")
        selected = tuple(c for c in selected if c.name in set(checks))
    asked = [c.name for c in selected]
    if any(c.gated for c in selected):   # a gated check needs the verdicts that say the function did its work
        selected += tuple(c for c in assignment.work_checks(function_name) if c not in selected)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    context = assignment.make_context(device)
    observed = {}
    visible = _visible(namespace)
    with cuda_on_cpu(device == "cpu"):
        for probe in {c.probe.name: c.probe for c in selected}.values():
            key = (assignment_id, probe.name, device)
            last = _OBSERVED.get(key)
            if last is not None and last[0] is namespace and _unchanged(last[1], visible):
                observed[probe.name] = last[2]   # the next hidden cell of the same function: the same run
                continue
            outcome = run_probe(probe, namespace, context)
            observed[probe.name] = (outcome.outputs, outcome.error)
            _OBSERVED[key] = (namespace, visible, observed[probe.name])
    torch.set_grad_enabled(True)
    results = _verifier().verify(assignment_id, [c.name for c in selected], observed)
    return [r for r in results if r[0] in asked]


#: (module, function names) whose code the hidden cells compare with a fresh compilation of their file.
GUARDED = {"autograder.notebook_checks": ("check_function", "_visible", "_unchanged", "run_hidden_checks",
                                          "_verifier", "_Verifier",
                                          "_send", "_receive", "_read_exact", "_silent_stderr", "guard_problem"),
           "autograder.runner": ("run_probe",),
           "autograder.sandbox.wire": ("encode_arrays",)}


def _code_of(obj):
    if isinstance(obj, type):
        return tuple(_code_of(v) for k, v in sorted(vars(obj).items()) if callable(v))
    obj = getattr(obj, "__wrapped__", obj)
    return getattr(obj, "__code__", None)


def guard_problem() -> str | None:
    """Why the in-kernel grading code cannot be trusted (a function replaced or its code changed in this kernel,
    compared with a fresh compilation of its file), else ``None``."""
    import importlib.util

    for module_name, names in GUARDED.items():
        module = sys.modules.get(module_name)
        spec = importlib.util.find_spec(module_name) if module is None else module.__spec__
        if module is None or spec is None or not spec.origin:
            continue
        try:
            with open(spec.origin, encoding="utf-8") as f:
                fresh_code = compile(f.read(), spec.origin, "exec")
            fresh = {"__name__": module_name, "__package__": module_name.rpartition(".")[0],
                     "__file__": spec.origin, "__spec__": spec}
            exec(fresh_code, fresh)
        except Exception as err:   # noqa: BLE001 - a file we cannot recompile cannot vouch for anything
            return f"{module_name} could not be recompiled ({type(err).__name__})"
        for name in names:
            live = module.__dict__.get(name)
            if live is None or _code_of(live) != _code_of(fresh.get(name)):
                return f"{module_name}.{name} was replaced in this kernel"
            inner = getattr(live, "__wrapped__", live)
            if not isinstance(live, type) and getattr(inner, "__globals__", None) is not module.__dict__:
                return f"{module_name}.{name} was replaced in this kernel"
    return None


def run_hidden_checks(assignment_id: str, function_name: str, namespace: dict,
                      checks: Sequence[str] | None = None) -> None:
    """Run the checks of ``function_name`` (or only those named in ``checks``, e.g. one quiz question per hidden
    cell) on ``namespace[function_name]``; raise ``AssertionError`` if any fails. The cell's nbgrader points must
    equal the points of the checks it runs (a test checks every solution notebook)."""
    with _silent_stderr():
        problem = guard_problem()
        results = [] if problem else check_function(assignment_id, function_name, namespace, checks)
    if problem:
        raise AssertionError(f"the grading code was modified in this notebook's kernel: {problem}")
    for name, passed, message in results:
        print(f"{'PASS' if passed else 'FAIL'} {name}: {message}")
    failed = [f"{name}: {message}" for name, passed, message in results if not passed]
    if failed:
        raise AssertionError(f"{len(failed)} of {len(results)} hidden checks of {function_name} failed:\n" +
                             "\n".join(failed))


# ------------------------------------------------------------------------------------------ verifier side
def _serve(stdin, stdout) -> None:
    """The verifier: reads requests (assignment, checks, probe outputs as arrays) and answers with verdicts.
    It holds the reference and the context of each assignment it was asked about; it never runs student code
    and never writes the cache."""
    import dataclasses

    import torch

    torch.set_num_threads(1)   # the same floats as the fast grader's reference
    from . import reference as ref
    from .assignments import load_assignment
    from .grade import verify_all
    from .sandbox import Limits, Observation
    from .sandbox.wire import decode_arrays
    from .text import clean_text

    known: dict[str, tuple] = {}
    while True:
        try:
            request = _receive(stdin)
            payloads = {name: _read_exact(stdin, int(info["nbytes"])) if int(info["nbytes"]) else b""
                        for name, info in request["probes"].items()}
        except EOFError:
            return
        try:
            assignment = load_assignment(str(request["assignment"]))
            if assignment.id not in known:
                data = ref._verified(ref.cache_name(assignment))   # read-only, and only a trusted state folder
                reference = ref._load(data) if data is not None else ref.compute_outputs(assignment.id)
                known[assignment.id] = (reference, assignment.make_context("cpu"))
            reference, context = known[assignment.id]
            obs = Observation()
            for name, info in request["probes"].items():
                payload = payloads[name]
                error = info.get("error")
                if error is not None or not payload:
                    obs.probes[name] = (None, clean_text(error or "no outputs", 1000))
                else:
                    try:
                        obs.probes[name] = (decode_arrays(payload), None)
                    except ValueError as err:
                        obs.probes[name] = (None, f"the outputs could not be read ({err}).")
            wanted = set(request["checks"])
            only = dataclasses.replace(assignment, checks=tuple(c for c in assignment.checks if c.name in wanted))
            torch.set_grad_enabled(True)
            results, _ = verify_all(only, obs, reference, context, Limits())
            _send(stdout, {"results": [(r.name, r.passed, r.message) for r in results]})
        except Exception as err:   # noqa: BLE001 - answer, never die silently
            _send(stdout, {"error": f"{type(err).__name__}: {clean_text(err, 500)}"})


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
