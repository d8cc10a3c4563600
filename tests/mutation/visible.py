"""The notebook's visible checks, run on a mutant: is a mistake visible to the student before submitting?

The solution notebook is executed once (quick, offline; every code cell in order except the hidden-test cells,
the solution cells with the solution's code), and the notebook's namespace is kept as it stands right before each
visible check cell: the first plain code cell (no nbgrader metadata) after a function's solution cell, as
``tests/test_visible_checks.py`` finds it. A mutant is *killed by the visible checks* when one of the visible cells
of the mutated function (or of a function that calls it) raises with the mutant's functions in that namespace.
Tensors and models of the namespace are copied for every run, so one mutant cannot spoil the next.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import warnings

import torch

from autograder.assignments import solution_notebook

QUICK_OFFLINE = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1", "MPLBACKEND": "Agg"}


def _python(source: str) -> str:
    """IPython magics (``%pip`` in the setup cell's never-taken branch) as plain Python."""
    if "%" not in source and "!" not in source:
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _copy(value):
    if isinstance(value, (torch.Tensor, torch.nn.Module)):
        try:
            return copy.deepcopy(value)
        except Exception:   # noqa: BLE001 - a non-leaf tensor with history: keep it
            return value
    return value


def _snapshot(namespace: dict) -> dict:
    return {k: _copy(v) for k, v in namespace.items()}


def _close_figures():
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except Exception:   # noqa: BLE001
        pass


def visible_cells(assignment) -> list[tuple[tuple[str, ...], str, dict]]:
    """``(functions whose visible check this cell is, or (); source; cell metadata)`` of the notebook's code cells,
    hidden-test cells left out. A plain cell checks every solution cell since the previous plain cell (notebook 05
    checks euclidean_distance and cosine_similarity in one cell)."""
    nb = json.loads(solution_notebook(assignment).read_text())
    cells, owners = [], []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        meta = c["metadata"].get("nbgrader", {})
        source = "".join(c["source"])
        if meta.get("grade") and not meta.get("solution"):
            continue                                        # a hidden test: not the student's to see
        if meta.get("solution"):
            owners.append(meta.get("grade_id"))
            cells.append(((), source, meta))
        elif not meta and owners:
            cells.append((tuple(owners), source, meta))
            owners = []                                     # only the first plain cell after the solution
        else:
            cells.append(((), source, meta))
    return cells


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell defines, names it reads before defining them), statement by statement."""
    import ast

    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set(), set()
    defined, free = set(), set()
    for statement in tree.body:
        stored, read, todo = set(), set(), [statement]
        while todo:                                 # a function's body runs later: only its name counts
            node = todo.pop()
            if isinstance(node, ast.Name):
                (stored if isinstance(node.ctx, (ast.Store, ast.Del)) else read).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stored.add(node.name)
                continue
            elif isinstance(node, ast.Lambda):
                continue
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                stored |= {(a.asname or a.name).split(".")[0] for a in node.names}
            todo.extend(ast.iter_child_nodes(node))
        free |= read - defined - stored             # a comprehension's own variables are not read from before
        defined |= stored
    return defined, free


def needed_cells(cells):
    """The cells the visible checks need: solution and visible check cells, and (backwards) every cell that
    defines a name a needed later cell reads. Figures and long demonstrations drop out."""
    keep, needed = [False] * len(cells), set()
    for i in range(len(cells) - 1, -1, -1):
        owner, source, meta = cells[i]
        defined, used = _names(source)
        if owner or meta.get("solution") or defined & needed:
            keep[i] = True
            needed = (needed - defined) | used
    return [c for c, k in zip(cells, keep) if k]


class VisibleChecks:
    """The namespace before each visible check cell of one notebook, and a runner for mutants."""

    def __init__(self, assignment, solution_sources: dict[str, str]):
        for k, v in QUICK_OFFLINE.items():
            os.environ.setdefault(k, v)
        self.assignment = assignment
        self.checks: list[tuple[tuple[str, ...], str, dict]] = []   # (functions, source, namespace before it)
        namespace: dict = {"__name__": "__main__"}
        out = io.StringIO()
        torch.manual_seed(0)
        for owner, source, meta in needed_cells(visible_cells(assignment)):
            if meta.get("solution"):
                source = solution_sources.get(meta.get("grade_id"), source)
            if owner:
                self.checks.append((owner, source, _snapshot(namespace)))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    exec(compile(_python(source), f"<cell {meta.get('grade_id', 'visible')}>", "exec"), namespace)
                except Exception as err:   # noqa: BLE001
                    if owner:
                        raise RuntimeError(f"the solution fails the visible check of {owner}: {err!r}") from err
                    raise RuntimeError(f"the solution notebook's cell {meta.get('grade_id')} raised: {err!r}") \
                        from err
                finally:
                    _close_figures()

    def failure(self, functions_ns: dict, owners, source: str, before: dict) -> str | None:
        function = "/".join(owners)
        namespace = _snapshot(before)
        namespace.update({f: functions_ns[f] for f in self.assignment.functions if f in functions_ns})
        torch.manual_seed(0)
        from .engine import _Timeout, deadline

        out = io.StringIO()
        try:
            with deadline(120), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, f"<visible check of {function}>", "exec"), namespace)
        except _Timeout as err:
            return f"{function}: {err}"
        except BaseException as err:   # noqa: BLE001 - any failure is what the student sees
            if isinstance(err, KeyboardInterrupt):
                raise
            message = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
            return f"{function}: {type(err).__name__}: {message}"
        finally:
            _close_figures()
        return None

    def first_failure(self, functions_ns: dict, functions) -> str | None:
        """The first visible check of ``functions`` that fails with these functions in place, or None."""
        for owners, source, before in self.checks:
            if set(owners) & set(functions):
                why = self.failure(functions_ns, owners, source, before)
                if why:
                    return why
        return None
