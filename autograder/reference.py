"""Reference outputs: the probes run on the solution notebook's functions, in a separate trusted process.

``reference_outputs(assignment)`` returns them from a cache (``$AUTOGRADER_CACHE``, default
``<hwlib cache>/autograder``), keyed by a hash of everything they depend on (solution cells, checks and harness
code, hwlib's sources, library versions, offline weights); on a miss it runs ``python -m autograder.reference`` to compute them.
The sandboxed child can read neither the solutions nor this cache.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .assignments import load_assignment, solution_notebook
from .check import Assignment
from .extract import notebook_cells

_HARNESS = ("check.py", "arrays.py", "sandbox/runner.py", "extract.py")


def cache_dir() -> Path:
    env = os.environ.get("AUTOGRADER_CACHE")
    if env:
        return Path(env)
    from hwlib.sources import cache_dir as hwlib_cache

    return hwlib_cache() / "autograder"


def cache_key(assignment: Assignment) -> str:
    """A hash of what the reference outputs depend on."""
    import importlib

    import hwlib
    import torch
    from hwlib._paths import data_dir

    digest = hashlib.sha256()
    for cell in notebook_cells(solution_notebook(assignment), assignment.functions):
        digest.update(cell.source.encode())
    here = Path(__file__).resolve().parent
    module = importlib.import_module(assignment.make_context.__module__)
    for path in [here / name for name in _HARNESS] + [Path(module.__file__)]:
        digest.update(path.read_bytes())
    for path in sorted(Path(hwlib.__file__).resolve().parent.rglob("*.py")):  # how inputs and models are made
        digest.update(path.read_bytes())
    for path in sorted(data_dir().glob("*.pt")):
        digest.update(path.read_bytes())
    digest.update(f"{torch.__version__} {np.__version__} {hwlib.__version__}".encode())
    return digest.hexdigest()


def _load(path: Path) -> dict[str, dict[str, np.ndarray]]:
    outputs: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            probe, name = key.split("/", 1)
            outputs.setdefault(probe, {})[name] = npz[key]
    return outputs


def reference_outputs(assignment: Assignment, timeout: float = 900) -> dict[str, dict[str, np.ndarray]]:
    """``{probe name: {output name: array}}`` for every probe of ``assignment`` (computed once, then cached)."""
    path = cache_dir() / f"{assignment.id}-{cache_key(assignment)[:20]}.npz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{assignment.id}.", suffix=".npz")
        os.close(fd)
        env = {**os.environ, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "PYTHONWARNINGS": "ignore"}
        try:
            result = subprocess.run([sys.executable, "-m", "autograder.reference", assignment.id, tmp], env=env,
                                    capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise RuntimeError(f"computing the reference outputs of {assignment.id} failed:\n"
                                   f"{(result.stdout + result.stderr)[-3000:]}")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return _load(path)


def compute(assignment_id: str, out: str) -> None:
    """Run every probe on the solution notebook's functions (CPU) and save the arrays to ``out`` (.npz)."""
    from .sandbox.runner import exec_cell, new_namespace, run_probe

    assignment = load_assignment(assignment_id)
    namespace = new_namespace()
    for cell in notebook_cells(solution_notebook(assignment), assignment.functions):
        error = exec_cell(cell, namespace)
        if error:
            raise SystemExit(f"the solution notebook of {assignment_id} is broken: {error}")
    context = assignment.make_context("cpu")
    arrays = {}
    for probe in assignment.probes:
        outcome = run_probe(probe, namespace, context)
        if outcome.error:
            raise SystemExit(f"the solution of {assignment_id} fails probe {probe.name!r}: {outcome.error}")
        arrays.update({f"{probe.name}/{k}": v for k, v in outcome.outputs.items()})
    with open(out, "wb") as f:
        np.savez(f, **arrays)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)   # the same float results wherever and however often it runs
    compute(sys.argv[1], sys.argv[2])
