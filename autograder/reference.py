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
checks' self-check is dropped and recomputed once (``batch.trusted_reference``). A reference that passed it is
marked beside its digest (``mark_self_checked``), so a client that grades elsewhere (a Dask cluster) can skip the
self-check, and with it the context and torch, while the mark names the digest its file verifies against.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from .assignments import load_assignment, solution_notebook
from .check import Assignment
from .extract import notebook_cells

#: Besides the checks' own imports: how the probes run and how the solution cells are read (they shape the outputs).
_HARNESS = ("runner.py", "extract.py")
#: The layers a probe or a verdict runs in (checks and core, see :mod:`autograder.importgraph`): imports into other
#: layers are not followed.
_VERDICT_LAYERS = ("autograder.checks", "autograder.check", "autograder.arrays", "autograder.extract",
                   "autograder.runner", "autograder.text", "autograder.images")


#: ast.parse from two threads at once can fail in CPython 3.11 ("AST constructor recursion depth mismatch"). The batch
#: hashes the cache key on its own thread only and hands it over; callers on other threads (a Dask client's, a
#: test's) still parse here: one parse at a time.
_PARSING = threading.Lock()


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
    """A hash of what the reference outputs depend on: the solution cells, every grader file in
    :func:`verdict_sources`, hwlib's sources, the offline weights and the library versions. Imports neither torch
    nor hwlib (a batch computes it before they are imported, and starts the reference's process with it)."""
    from .sandbox_host import hwlib_paths

    hwlib_dir, data_dir = hwlib_paths()
    digest = hashlib.sha256()
    for cell in notebook_cells(solution_notebook(assignment), assignment.functions):
        digest.update(cell.source.encode())
    root = Path(__file__).resolve().parent.parent
    for path in verdict_sources(assignment.id):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    for path in sorted(hwlib_dir.rglob("*.py")):  # how inputs and models are made
        digest.update(path.read_bytes())
    for path in sorted(data_dir.glob("*.pt")):
        digest.update(path.read_bytes())
    digest.update(" ".join(f"{name} {_version(name)}" for name in ("torch", "numpy", "hwlib")).encode())
    return digest.hexdigest()


def _version(distribution: str) -> str:
    """The installed version of ``distribution`` (from its metadata, without importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def verdict_sources(assignment_id: str) -> list[Path]:
    """Every grader file that the probes and verdicts of ``assignment_id`` depend on, sorted: the files of its
    checks package (``autograder/checks/<topic>/``, or its one module), :data:`_HARNESS`, and every module of the
    checks and core layers that these import, transitively (``checks/_kit.py``, ``checks/quiz.py``, ``check.py``,
    ``arrays.py``... and the ``__init__.py`` of each package on the way; :data:`_VERDICT_LAYERS`), found by reading
    their import statements (those inside functions too) without importing anything.

    The one list behind the reference cache key (:func:`cache_key`) and the Dask workers' fingerprint
    (:func:`autograder.distributed.code_fingerprint`)."""
    from .assignments import CHECK_MODULES

    if assignment_id not in CHECK_MODULES:
        raise ValueError(f"unknown assignment {assignment_id!r}; known: {', '.join(sorted(CHECK_MODULES))}.")
    root = Path(__file__).resolve().parent.parent
    topic = _module_file(root, CHECK_MODULES[assignment_id])
    todo = sorted(topic.parent.glob("*.py")) if topic.name == "__init__.py" else [topic]
    data = sorted(topic.parent.glob("*.npz")) if topic.name == "__init__.py" else []   # stored probe inputs
    todo += [root / "autograder" / name for name in _HARNESS]
    found: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in found:
            found.add(path)
            todo += [p for p in _imported_files(root, path) if p not in found]
    return sorted(found | set(data))


def _module_file(root: Path, name: str) -> Path | None:
    """The file of module ``name`` under ``root`` (``a/b.py`` or ``a/b/__init__.py``), or None."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported_files(root: Path, path: Path) -> list[Path]:
    """The ``autograder`` files that the import statements of ``path`` load (with their packages' ``__init__``)."""
    import ast

    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]                                   # the package a relative import starts from
    names: list[str] = []
    with _PARSING:
        tree = ast.parse(path.read_bytes(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]   # a name may be a submodule
    files = []
    for name in names:
        if not name.startswith(_VERDICT_LAYERS):
            continue
        pieces = name.split(".")
        for k in range(1, len(pieces) + 1):                # importing a.b.c runs a/__init__ and a/b/__init__ too
            file = _module_file(root, ".".join(pieces[:k]))
            if file is not None:
                files.append(file)
    return files


def cache_name(assignment: Assignment, key: str | None = None) -> str:
    return f"{assignment.id}-{(key or cache_key(assignment))[:20]}.npz"


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


def reference_outputs(assignment: Assignment, timeout: float = 900, store: bool | None = None,
                      key: str | None = None) -> dict[str, dict[str, np.ndarray]]:
    """``{probe name: {output name: array}}`` for every probe of ``assignment``: from the cache when its digest
    verifies, else computed (and, when ``store``, cached with a new digest). ``store`` defaults to True except
    inside a Jupyter kernel (see the module docstring). ``key``: :func:`cache_key`, when the caller has it (a
    batch computes it once and calls this on another thread, which then parses no source file)."""
    name = cache_name(assignment, key)
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
    try:
        (digests / f"{name}.checked").unlink()   # a mark names the file it was given for, not this one
    except OSError:
        pass
    _write_atomic(cache / name, data, 0o444)
    _write_atomic(digests / f"{name}.sha256", hashlib.sha256(data).hexdigest().encode() + b"\n", 0o400)


def mark_self_checked(assignment: Assignment, key: str) -> None:
    """Record, beside its digest, that the cached reference (as that digest names it) passed the checks' own
    self-check (``batch.self_check``) under ``key``; nothing without a trusted state folder or a verified file."""
    digests, name = digest_dir(), cache_name(assignment, key)
    if digests is None or _verified(name) is None:
        return
    digest = (digests / f"{name}.sha256").read_bytes()
    _write_atomic(digests / f"{name}.checked", digest, 0o400)


def self_checked(assignment: Assignment, key: str) -> bool:
    """Did the cached reference of ``key`` pass the self-check, as the trusted state folder records it: its file
    verifies against its digest and the mark names that same digest? A client that grades elsewhere (a Dask
    cluster) then needs neither the context nor torch."""
    digests, name = digest_dir(), cache_name(assignment, key)
    if digests is None or _verified(name) is None:
        return False
    try:
        return (digests / f"{name}.checked").read_bytes() == (digests / f"{name}.sha256").read_bytes()
    except OSError:
        return False


def forget_digests(assignment: Assignment) -> None:
    """Drop the digests (and self-check marks) of ``assignment``'s cached reference: the next use recomputes it
    (after student code ran as the grader's own user)."""
    _MEMORY.clear()
    digests = digest_dir()
    if digests is None:
        return
    for pattern in (f"{assignment.id}-*.sha256", f"{assignment.id}-*.checked"):
        for path in digests.glob(pattern):
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
    from .assignments import solution_namespace
    from .runner import run_probe

    assignment = load_assignment(assignment_id)
    try:
        namespace = solution_namespace(assignment)
    except RuntimeError as err:
        raise SystemExit(f"the solution notebook of {assignment_id} is broken: {err}") from None
    context = assignment.make_context("cpu")
    outputs = {}
    for probe in assignment.probes:
        outcome = run_probe(probe, namespace, context)
        if outcome.error:
            raise SystemExit(f"the solution of {assignment_id} fails probe {probe.name!r}: {outcome.error}")
        outputs[probe.name] = dict(outcome.outputs)
    return outputs


if __name__ == "__main__":
    import gc

    gc.disable()   # importing torch and hwlib: millions of objects, no garbage (~15 % faster)
    import torch

    import hwlib  # noqa: F401

    gc.enable()
    torch.set_num_threads(1)   # the same float results wherever and however often it runs
    compute(sys.argv[1], sys.argv[2])
