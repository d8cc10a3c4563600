"""Running one submission's code in the sandbox until every probe has an outcome (parent side).

A child that hangs, crashes or exits in the middle of a step is restarted without that step: a cell that never
finishes is dropped (its functions become undefined), a function that kills the process fails all its probes,
and everything else is still graded. The whole submission has ONE deadline (``limits.timeout_s`` of its own CPU
time, idle time included, with a wall-clock backstop: see ``parent``): each restart gets what is left of it, and
when it is spent every step not yet done fails with a message saying which limit was hit. Too many
graded cells or too much code (``limits.max_cells``, ``limits.max_code_kb``) is refused before anything runs.

Everything on the result channel after the student's first step has started may be forged (the student's code
can write to it), so it is read as data only, validated field by field (``wire``), and it can only ever cost the
student their own points: the parent decides that the *grader* failed only from the messages the harness sent
before any student code ran.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..check import Assignment
from ..extract import Cell
from ..text import clean_text
from .parent import ChildRun, GraderError, Limits, Sandbox
from .wire import decode_arrays

__all__ = ["GraderError", "Observation", "observe", "size_problem"]


@dataclass
class Observation:
    """What the student's code did: per probe ``(outputs, None)`` or ``(None, message)``, per cell an error."""
    probes: dict[str, tuple[dict[str, np.ndarray] | None, str | None]] = field(default_factory=dict)
    cell_errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    output_tail: str = ""
    output_bytes: int = 0


def size_problem(cells: list[Cell], limits: Limits) -> str | None:
    """Why these cells are too many or too large to run (the message names the limit), else ``None``."""
    if len(cells) > limits.max_cells:
        return (f"your notebook has {len(cells)} graded code cells; the grader runs at most {limits.max_cells} "
                "(limit max_cells): remove the extra cells and submit again.")
    size = sum(len(c.source.encode("utf-8", "replace")) for c in cells)
    if size > limits.max_code_kb * 1024:
        return (f"your graded code cells hold {size // 1024} KB of code; the grader accepts at most "
                f"{limits.max_code_kb} KB (limit max_code_kb): remove pasted data or outputs from them.")
    return None


def _why(run: ChildRun, limits: Limits) -> str:
    if run.timed_out and run.limit_hit == "wall":
        return (f"did not finish within the time limit (it reached the wall-clock backstop of "
                f"{limits.backstop:g} s for the whole submission, every cell and check together, "
                f"before using its {limits.timeout_s:g} s of CPU time: it kept waiting on something)")
    if run.timed_out:
        return (f"did not finish within the time limit (used {limits.timeout_s:g} s of CPU time, time spent "
                "sleeping or blocked included, for the whole submission, every cell and check together)")
    if run.channel_problem:
        return f"garbled the grader's result channel ({run.channel_problem})"
    if run.out_of_memory:
        return f"ran out of memory (the submission may use {limits.memory_mb} MB in all, shared memory included)"
    code = run.returncode
    signal = -code if code is not None and code < 0 else code - 128 if code is not None and code > 128 else None
    if signal:
        return (f"was killed by signal {signal}" +
                (f" (out of memory? the limit is {limits.memory_mb} MB)" if signal == 9 else ""))
    return f"ended the process (exit code {code}); do not call exit(), sys.exit() or os._exit()"


def _student_started(run: ChildRun) -> bool:
    """Whether the harness announced a student step. Only the messages before that one are the harness's own:
    until it, no student code has run and nobody else can have written to the channel."""
    for header, _ in run.messages:
        if header.get("event") != "start" or header.get("step") != "context":
            return header.get("event") == "start" and str(header.get("step", "")).startswith(("cell:", "probe:"))
    return False


def _absorb(run: ChildRun, obs: Observation, cells: list[Cell], pending: list[str]) -> tuple[str | None, bool]:
    """Record ``run``'s messages in ``obs``; returns (the step in progress when it ended, whether it finished)."""
    step, done = None, False
    names = {c.name for c in cells}
    for header, payload in run.messages:   # every field was type-checked by the wire decoder
        event, name = header.get("event"), header.get("name")
        if event == "start":
            step = header.get("step")
        elif event == "cell" and name in names:
            if header.get("error"):
                obs.cell_errors.setdefault(name, clean_text(header["error"], 1000))
            step = None
        elif event == "probe" and name in pending and name not in obs.probes:
            error = header.get("error")
            if error:
                obs.probes[name] = (None, clean_text(error, 1000))
            else:
                try:
                    obs.probes[name] = (decode_arrays(payload), None)
                except ValueError as err:
                    obs.probes[name] = (None, f"the outputs that came back could not be read ({err}).")
            step = None
        elif event == "done":
            done = True
    obs.output_bytes += run.output_bytes
    obs.output_tail = clean_text((obs.output_tail + run.output_tail)[-8192:], 8192)
    return step, done


def observe(cells: list[Cell], assignment: Assignment, limits: Limits, device: str, sandbox: Sandbox) -> Observation:
    """Execute ``cells`` and run every probe of ``assignment`` in ``sandbox`` (see the module docstring)."""
    obs = Observation()
    probe_of = {p.name: p for p in assignment.probes}
    cells = list(cells)
    too_big = size_problem(cells, limits)
    if too_big:
        obs.notes.append(too_big)
        obs.probes = {name: (None, too_big) for name in probe_of}
        return obs
    with sandbox.turn(limits) as turn:
        left = limits.timeout_s
        for _ in range(len(cells) + len(assignment.functions) + 1):
            pending = [name for name in probe_of if name not in obs.probes]
            job = {"assignment": assignment.id, "device": device, "cells": [asdict(c) for c in cells],
                   "probes": pending}
            run = turn.run(job, left)
            left -= run.charged_s
            step, done = _absorb(run, obs, cells, pending)
            if done and all(name in obs.probes for name in pending):
                break
            why = _why(run, limits)
            if not _student_started(run):  # no student code has run: the grader itself failed
                raise GraderError(f"the sandboxed child {why} before running any student code:\n"
                                  f"{run.output_tail[-3000:]}")
            if run.timed_out or left <= 0 or turn.wall_left <= 0:
                for name in pending:
                    obs.probes.setdefault(name, (None, f"your code {why}."))
                if step and step.startswith("cell:"):
                    name = step[5:].rpartition(":")[0]
                    obs.cell_errors.setdefault(name, f"cell `{name}` {why}.")
                break
            kind, _, rest = (step or "").partition(":")
            if kind == "cell":
                name, _, index = rest.rpartition(":")
                if not any(str(c.index) == index and c.name == name for c in cells):
                    break
                obs.cell_errors[name] = f"cell `{name}` {why}."
                cells = [c for c in cells if str(c.index) != index]
            elif kind == "probe" and rest in probe_of and rest in pending:
                function = probe_of[rest].function
                for p in assignment.probes:
                    if p.function == function and p.name not in obs.probes:
                        obs.probes[p.name] = (None, f"`{function}` {why}.")
            else:
                for name in pending:
                    obs.probes.setdefault(name, (None, f"your code {why}."))
                break
    obs.notes += turn.notes
    for name in probe_of:
        obs.probes.setdefault(name, (None, "no result came back from your code (see the notes below)."))
    return obs
