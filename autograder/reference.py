"""Reference outputs: the probes run on the solution notebook's functions, in a separate trusted process.

``reference_outputs(assignment)`` returns them from a cache (``$AUTOGRADER_CACHE``, default
``<hwlib cache>/autograder``), keyed by a hash of everything they depend on (solution cells, checks and harness
code, hwlib's sources, library versions, offline weights); on a miss it runs ``python -m autograder.reference`` to
compute them.

The cache is verified before use, and trusted only where nothing that runs student code can have written it.
A grader cannot tell its own files from ones written by code running as the same user (an ``nbgrader autograde``
kernel runs the student's cells as the instructor, next to the project's own storing function), so:

- by default (``$AUTOGRADER_STATE`` not set) nothing on disk is trusted: the reference is computed once per
  grader process in a separate trusted process and kept in memory only (a few seconds, overlapped with the
  sandbox's start-up); nothing is read from or written to the cache;
- with ``$AUTOGRADER_STATE`` set, the operator names a folder that nothing running student code as this user can
  write (a dedicated grading account or container, never one that also runs ``nbgrader autograde``): the trusted
  side keeps there a digest of every cache file it wrote (mode 0700, never inside the cache folder, never named in
  the sandbox's environment); a cache file without a matching digest is *in doubt* and recomputed.

The cache and the digests are written only by trusted callers (``store=True``: the fast grader, tests,
benchmarks); nbgrader's hidden cells never load, compute or store a reference in the kernel
(``notebook_checks``: a separate verifier process holds it). The sandboxed child can read neither the solutions,
the cache nor the digests. Under isolation ``"none"`` student code runs as the grader's own user and could
rewrite both the cache and the digests: ``batch`` then drops the digests after the batch, so the next batch
recomputes instead of trusting what that batch's students could have touched; a reference that fails the
checks' self-check is dropped and recomputed once (``batch.trusted_reference``).
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .assignments import load_assignment, solution_notebook
from .check import Assignment
from .extract import notebook_cells

_HARNESS = ("check.py", "arrays.py", "runner.py", "extract.py")


def cache_dir() -> Path:
    env = os.environ.get("AUTOGRADER_CACHE")
    if env:
        return Path(env)
    from hwlib.sources import cache_dir as hwlib_cache

    return hwlib_cache() / "autograder"


def digest_dir() -> Path | None:
    """Where the trusted side keeps the digests of the cache files it wrote: ``$AUTOGRADER_STATE``, or ``None``
    (no persistent trust; see the module docstring)."""
    env = os.environ.get("AUTOGRADER_STATE")
    return Path(env) if env else None


def cache_key(assignment: Assignment) -> str:
    """A hash of what the reference outputs depend on."""
    import importlib

    import torch

    import hwlib
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


def cache_name(assignment: Assignment) -> str:
    return f"{assignment.id}-{cache_key(assignment)[:20]}.npz"


def _load(data: bytes) -> dict[str, dict[str, np.ndarray]]:
    outputs: dict[str, dict[str, np.ndarray]] = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        for key in npz.files:
            probe, name = key.split("/", 1)
            outputs.setdefault(probe, {})[name] = npz[key]
    return outputs


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _verified(name: str) -> bytes | None:
    """The cache file ``name`` if its digest matches the one the trusted side kept, else ``None``."""
    digests = digest_dir()
    if digests is None:
        return None
    try:
        expected = (digests / f"{name}.sha256").read_text().strip()
        with open(cache_dir() / name, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as f:
            data = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    return data if hashlib.sha256(data).hexdigest() == expected else None


def _compute(assignment: Assignment, timeout: float) -> bytes:
    """Run ``python -m autograder.reference`` (trusted: the solution notebook, no student code) into a private
    temporary folder and return the ``.npz`` bytes."""
    with tempfile.TemporaryDirectory(prefix="autograder-reference-") as private:
        out = os.path.join(private, "reference.npz")
        env = {**os.environ, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "PYTHONWARNINGS": "ignore"}
        # -I: no PYTHONPATH, no current folder, no user site on the import path (a CI job runs in the student's
        # repository, whose files must never be imported in place of the grader's or numpy's).
        result = subprocess.run([sys.executable, "-I", "-m", "autograder.reference", assignment.id, out], env=env,
                                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                cwd=private)
        if result.returncode != 0:
            raise RuntimeError(f"computing the reference outputs of {assignment.id} failed:\n"
                               f"{(result.stdout + result.stderr)[-3000:]}")
        return Path(out).read_bytes()


def _in_kernel() -> bool:
    """Inside a Jupyter kernel (where nbgrader runs the hidden tests next to the student's code)."""
    return "ipykernel" in sys.modules


def reference_outputs(assignment: Assignment, timeout: float = 900,
                      store: bool | None = None) -> dict[str, dict[str, np.ndarray]]:
    """``{probe name: {output name: array}}`` for every probe of ``assignment``: from the cache when its digest
    verifies, else computed (and, when ``store``, cached with a new digest). ``store`` defaults to True except
    inside a Jupyter kernel (see the module docstring)."""
    name = cache_name(assignment)
    if digest_dir() is None:   # no persistent trust: once per process, in memory
        if name not in _MEMORY:
            _MEMORY.clear()
            _MEMORY[name] = _compute(assignment, timeout)
        return _load(_MEMORY[name])
    data = _verified(name)
    if data is None:
        data = _compute(assignment, timeout)
        if store if store is not None else not _in_kernel():
            store_reference(name, data)
    return _load(data)


#: The reference computed by this process (``.npz`` bytes by cache name) when no state folder is trusted.
_MEMORY: dict[str, bytes] = {}


def store_reference(name: str, data: bytes) -> None:
    """Cache ``data`` as ``name`` and keep its digest (trusted callers only)."""
    cache, digests = cache_dir(), digest_dir()
    if digests is None:
        return   # no trusted state folder: nothing on disk would be trusted anyway
    cache.mkdir(parents=True, exist_ok=True)
    digests.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(digests, 0o700)
    _write_atomic(cache / name, data, 0o444)
    _write_atomic(digests / f"{name}.sha256", hashlib.sha256(data).hexdigest().encode() + b"\n", 0o400)


def forget_digests(assignment: Assignment) -> None:
    """Drop the digests of ``assignment``'s cached reference: the next use recomputes it (after student code
    ran as the grader's own user)."""
    _MEMORY.clear()
    digests = digest_dir()
    if digests is None:
        return
    for path in digests.glob(f"{assignment.id}-*.sha256"):
        try:
            path.unlink()
        except OSError:
            pass


def compute(assignment_id: str, out: str) -> None:
    """Run every probe on the solution notebook's functions (CPU) and save the arrays to ``out`` (.npz)."""
    arrays = {f"{probe}/{k}": v for probe, outputs in compute_outputs(assignment_id).items()
              for k, v in outputs.items()}
    with open(out, "wb") as f:
        np.savez(f, **arrays)


def compute_outputs(assignment_id: str) -> dict[str, dict[str, np.ndarray]]:
    """``{probe: {output: array}}`` of the solution notebook's functions, computed in THIS process (trusted
    processes only: the reference subprocess, nbgrader's verifier)."""
    from .runner import exec_cell, new_namespace, run_probe

    assignment = load_assignment(assignment_id)
    namespace = new_namespace()
    for cell in notebook_cells(solution_notebook(assignment), assignment.functions):
        error = exec_cell(cell, namespace)
        if error:
            raise SystemExit(f"the solution notebook of {assignment_id} is broken: {error}")
    context = assignment.make_context("cpu")
    outputs = {}
    for probe in assignment.probes:
        outcome = run_probe(probe, namespace, context)
        if outcome.error:
            raise SystemExit(f"the solution of {assignment_id} fails probe {probe.name!r}: {outcome.error}")
        outputs[probe.name] = dict(outcome.outputs)
    return outputs


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)   # the same float results wherever and however often it runs
    compute(sys.argv[1], sys.argv[2])
