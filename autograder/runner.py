"""Executing extracted cells and running probes in the current process, turning every failure into a message.

Used on the untrusted side (the sandboxed child, and the nbgrader kernel) and by the trusted reference process;
it never compares anything. (It was ``autograder.sandbox.runner``; that name is an alias of this module.)
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass

import numpy as np

from .check import Probe, SubmissionError
from .extract import Cell

MAX_MESSAGE = 400


@dataclass(frozen=True)
class ProbeOutcome:
    """``outputs`` (name -> array) when the probe ran, else ``error``, a message for the student."""
    outputs: dict[str, np.ndarray] | None
    error: str | None = None


def _safe_str(value) -> str:
    try:
        text = str(value)
    except BaseException:  # a student's exception whose __str__ fails
        text = "<unprintable>"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ..."


def describe_exception(exc: BaseException) -> str:
    """``"ValueError: bad shape (cell `compute_saliency_maps`, line 12)"``: the last line of the student's cells
    in the traceback, when there is one."""
    name = type(exc).__name__
    where = ""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell ")]
        if frames:
            where = f" (cell `{frames[-1].filename[6:-1]}`, line {frames[-1].lineno})"
        elif isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
    except BaseException:
        pass
    message = _safe_str(exc.msg if isinstance(exc, SyntaxError) else exc)
    return f"{name}: {message}{where}" if message else f"{name}{where}"


def new_namespace() -> dict:
    """A fresh module namespace, as a notebook has (``__name__ == "__main__"``)."""
    return {"__name__": "__main__", "__builtins__": __builtins__}


def exec_cell(cell: Cell, namespace: dict) -> str | None:
    """Execute ``cell`` in ``namespace``; ``None`` on success, else what went wrong, for the student."""
    try:
        code = compile(cell.source, f"<cell {cell.name}>", "exec")
    except (SyntaxError, ValueError) as err:
        return f"cell `{cell.name}` does not compile: {describe_exception(err)}"
    try:
        exec(code, namespace)
    except BaseException as err:  # SystemExit and KeyboardInterrupt from student code are failures too
        return f"cell `{cell.name}` raised {describe_exception(err)}"
    return None


def notebook_namespace(path, functions: tuple[str, ...] = (), replace: dict[str, str] | None = None,
                       strict: bool = True) -> dict:
    """A fresh namespace in which the graded cells of the notebook at ``path`` (``extract.notebook_cells``: its
    solution cells in notebook order, plus a cell defining a function of ``functions`` that none of them defines)
    were executed as the grader executes them (:func:`exec_cell`). ``replace`` maps a cell's name (its grade_id)
    to the source to run instead (a mutant, a variant). ``strict``: a cell that fails raises ``RuntimeError``
    naming it; otherwise it is skipped, as in grading (it costs only what it defines).

    In a trusted process only: it runs the notebook's code here, unsandboxed (the grader of student work is the
    sandbox). :func:`autograder.assignments.solution_namespace` is this for an assignment's solution notebook."""
    from .extract import notebook_cells

    cells = notebook_cells(path, tuple(functions))
    unknown = sorted(set(replace or ()) - {c.name for c in cells})
    if unknown:
        raise ValueError(f"{path}: no graded cell named {unknown}; cells: {[c.name for c in cells]}")
    namespace = new_namespace()
    for cell in cells:
        if replace and cell.name in replace:
            cell = Cell(cell.name, replace[cell.name], cell.index)
        error = exec_cell(cell, namespace)
        if error and strict:
            raise RuntimeError(f"{path}: {error}")
    return namespace


def prepare_torch(seed: int = 0) -> None:
    """Undo global state a previous cell or probe may have changed, and seed: every probe starts the same."""
    import torch

    torch.set_grad_enabled(True)
    torch.manual_seed(seed)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def run_probe(probe: Probe, namespace: dict, context) -> ProbeOutcome:
    """Run ``probe`` on the function of that name in ``namespace``."""
    fn = namespace.get(probe.function)
    if not probe.callable and probe.function not in namespace:
        return ProbeOutcome(None, f"`{probe.function}` is not defined: keep the line `{probe.function} = ...` in the "
                                  "cell where the notebook asks for it, and make sure that cell runs without errors.")
    if probe.callable and not callable(fn):
        return ProbeOutcome(None, f"`{probe.function}` is not defined: keep its `def {probe.function}(...)` in the "
                                  "cell where the notebook asks for it, and make sure that cell runs without errors.")
    try:
        prepare_torch()
        outputs = probe.run(fn, context)
    except SubmissionError as err:
        return ProbeOutcome(None, _safe_str(err))
    except NotImplementedError as err:
        return ProbeOutcome(None, f"`{probe.function}` is not written yet ({describe_exception(err)}).")
    except BaseException as err:
        return ProbeOutcome(None, f"`{probe.function}` raised {describe_exception(err)}")
    return ProbeOutcome({k: np.asarray(v) for k, v in outputs.items()})
