"""The hidden test cells of the solution notebooks call this, inside the kernel that ``nbgrader autograde`` runs:

    from autograder.notebook_checks import run_hidden_checks
    run_hidden_checks("<assignment id>", "<function>", globals())

It runs the same probes and checks as the fast grader (one definition of each), with the reference outputs the
fast grader uses (computed from solutions/ in a separate process and cached). It prints one line per check and
raises ``AssertionError`` with the messages of the failed ones. It writes nothing to stderr (nbgrader gives a
cell that does 0 points). nbgrader runs the student's code in the same process as these checks, so this path is
only as tamper-proof as nbgrader itself; ``python -m autograder grade`` is the sandboxed one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
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


#: Reference outputs by assignment id for the life of this process. In nbgrader that is one kernel, one
#: submission: the kernel never writes the cache, so without this memo each hidden cell would recompute them in a
#: fresh process (~5 s a cell on a CPU). Student code in the same kernel could reach it, like everything else here.
_REFERENCES: dict = {}


def _reference(assignment) -> dict:
    """``reference_outputs(assignment, store=False)``, computed once per process; fresh copies of the arrays."""
    from .reference import cache_name, reference_outputs

    key = (assignment.id, cache_name(assignment))
    if key not in _REFERENCES:
        _REFERENCES.clear()
        _REFERENCES[key] = reference_outputs(assignment, store=False)   # a student's kernel never writes the cache
    return {probe: {name: array.copy() for name, array in outputs.items()}
            for probe, outputs in _REFERENCES[key].items()}


def check_function(assignment_id: str, function_name: str, namespace: dict,
                   checks: Sequence[str] | None = None) -> list[tuple[str, bool, str]]:
    """``(check name, passed, message)`` for every check of ``function_name`` (or only those named in ``checks``),
    run in this process."""
    import torch

    from .assignments import load_assignment
    from .sandbox.device_shim import cuda_on_cpu
    from .grade import verify_all
    from .sandbox import Observation
    from .sandbox.runner import run_probe
    from .sandbox import Limits

    assignment = load_assignment(assignment_id)
    selected = assignment.checks_for(function_name)
    if not selected:
        raise ValueError(f"{assignment_id} has no checks for {function_name!r}; functions: {assignment.functions}")
    if checks is not None:
        unknown = sorted(set(checks) - {c.name for c in selected})
        if unknown:
            raise ValueError(f"{assignment_id}: {function_name!r} has no checks named {unknown}")
        selected = tuple(c for c in selected if c.name in set(checks))
    checks = selected
    reference = _reference(assignment)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    context = assignment.make_context(device)
    obs = Observation()
    with cuda_on_cpu(device == "cpu"):
        for probe in {c.probe.name: c.probe for c in checks}.values():
            outcome = run_probe(probe, namespace, context)
            obs.probes[probe.name] = (outcome.outputs, outcome.error)
    torch.set_grad_enabled(True)
    only = dataclasses.replace(assignment, checks=checks)
    results, _ = verify_all(only, obs, reference, context, Limits())
    return [(r.name, r.passed, r.message) for r in results]


def run_hidden_checks(assignment_id: str, function_name: str, namespace: dict,
                      checks: Sequence[str] | None = None) -> None:
    """Run the checks of ``function_name`` (or only those named in ``checks``, e.g. one quiz question per hidden
    cell) on ``namespace[function_name]``; raise ``AssertionError`` if any fails. The cell's nbgrader points must
    equal the points of the checks it runs (a test checks every solution notebook)."""
    with _silent_stderr():
        results = check_function(assignment_id, function_name, namespace, checks)
    for name, passed, message in results:
        print(f"{'PASS' if passed else 'FAIL'} {name}: {message}")
    failed = [f"{name}: {message}" for name, passed, message in results if not passed]
    if failed:
        raise AssertionError(f"{len(failed)} of {len(results)} hidden checks of {function_name} failed:\n" +
                             "\n".join(failed))
