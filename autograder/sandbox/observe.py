"""Running one submission's code in the sandbox until every probe has an outcome (parent side).

A child that hangs, crashes or exits in the middle of a step is restarted without that step: a cell that never
finishes is dropped (its functions become undefined), a function that kills the process fails all its probes,
and everything else is still graded. At most one restart per cell and per function.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..check import Assignment
from ..extract import Cell
from .parent import ChildRun, Limits, Sandbox
from .wire import decode_arrays


class GraderError(RuntimeError):
    """The grader itself failed (not the student's code): the submission must be graded again."""


@dataclass
class Observation:
    """What the student's code did: per probe ``(outputs, None)`` or ``(None, message)``, per cell an error."""
    probes: dict[str, tuple[dict[str, np.ndarray] | None, str | None]] = field(default_factory=dict)
    cell_errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    output_tail: str = ""
    output_bytes: int = 0


def _why(run: ChildRun, limits: Limits) -> str:
    if run.timed_out:
        return f"did not finish within the time limit ({limits.timeout_s:g} s)"
    if run.channel_problem:
        return f"garbled the grader's result channel ({run.channel_problem})"
    signal = -run.returncode if run.returncode is not None and run.returncode < 0 else \
        run.returncode - 128 if run.returncode is not None and run.returncode > 128 else None
    if signal:
        return (f"was killed by signal {signal}" +
                (f" (out of memory? the limit is {limits.memory_mb} MB)" if signal == 9 else ""))
    return f"ended the process (exit code {run.returncode}); do not call exit(), sys.exit() or os._exit()"


def _absorb(run: ChildRun, obs: Observation, cells: list[Cell], pending: list[str]) -> tuple[str | None, bool]:
    """Record ``run``'s messages in ``obs``; returns (the step in progress when it ended, whether it finished)."""
    step, done = None, False
    names = {c.name for c in cells}
    for header, payload in run.messages:
        event = header.get("event")
        if event == "start":
            step = str(header.get("step"))
        elif event == "cell" and header.get("name") in names:
            if header.get("error"):
                obs.cell_errors.setdefault(str(header["name"]), str(header["error"])[:1000])
            step = None
        elif event == "probe" and header.get("name") in pending and header["name"] not in obs.probes:
            name, error = header["name"], header.get("error")
            if error:
                obs.probes[name] = (None, str(error)[:1000])
            else:
                try:
                    obs.probes[name] = (decode_arrays(payload), None)
                except ValueError as err:
                    obs.probes[name] = (None, f"the outputs that came back could not be read ({err}).")
            step = None
        elif event == "done":
            done = True
    obs.output_bytes += run.output_bytes
    obs.output_tail = (obs.output_tail + run.output_tail)[-8192:]
    return step, done


def observe(cells: list[Cell], assignment: Assignment, limits: Limits, device: str, sandbox: Sandbox) -> Observation:
    """Execute ``cells`` and run every probe of ``assignment`` in ``sandbox`` (see the module docstring)."""
    obs = Observation()
    probe_of = {p.name: p for p in assignment.probes}
    cells = list(cells)
    for _ in range(len(cells) + len(assignment.functions) + 1):
        pending = [name for name in probe_of if name not in obs.probes]
        job = {"assignment": assignment.id, "device": device, "cells": [asdict(c) for c in cells], "probes": pending}
        run = sandbox.run(job, limits)
        step, done = _absorb(run, obs, cells, pending)
        if done and all(name in obs.probes for name in pending):
            break
        why = _why(run, limits)
        if step == "context" or (step is None and not run.messages):  # no student code has run yet
            raise GraderError(f"the sandboxed child {why} before running any student code:\n"
                              f"{run.output_tail[-3000:]}")
        if step is None:
            for name in pending:
                obs.probes.setdefault(name, (None, f"your code {why}."))
            break
        kind, _, rest = step.partition(":")
        if kind == "cell":
            name, _, index = rest.rpartition(":")
            obs.cell_errors[name] = f"cell `{name}` {why}."
            cells = [c for c in cells if str(c.index) != index]
        elif kind == "probe" and rest in probe_of:
            function = probe_of[rest].function
            for p in assignment.probes:
                if p.function == function and p.name not in obs.probes:
                    obs.probes[p.name] = (None, f"`{function}` {why}.")
        else:
            break
    for name in probe_of:
        obs.probes.setdefault(name, (None, "no result came back from your code (see the notes below)."))
    return obs
