"""What the grader gives the sandbox (:class:`autograder.sandbox.Host`): the paths the jailed child may read and
the registry lookup. The sandbox imports neither the registry nor the student package; this module (grading side)
names them.

Bound read-only into the jail: the student package ``hwlib`` and its weights (``hwlib.data``), and the grader's
own files the child runs: ``autograder``'s top level (never the nbgrader config), ``checks/`` and ``sandbox/``
(never ``examples/`` or the gradebook).
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from .sandbox import Host

NOT_IN_SANDBOX = ("nbgrader_config.py",)
REGISTRY = "autograder.assignments:load_assignment"


def _package_files(package_dir: Path) -> list[str]:
    """The autograder's own Python files the child needs: the package's top level, ``checks/`` (with its
    sub-packages) and ``sandbox/``."""
    files = [p for p in sorted(package_dir.glob("*.py")) if p.name not in NOT_IN_SANDBOX]
    files += sorted((package_dir / "checks").rglob("*.py")) + sorted((package_dir / "sandbox").glob("*.py"))
    return [str(p) for p in files]


def _hwlib_dir() -> Path:
    """Where the student package is, found without importing it (importing hwlib imports torch: seconds that the
    launchers, started right after this, would otherwise wait for)."""
    spec = importlib.util.find_spec("hwlib")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the student package hwlib is not installed (pip install -e . in the course)")
    return Path(spec.origin).resolve().parent


def _module_from_file(name: str, path: Path):
    """The module in the file ``path`` (one without relative imports), executed alone."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=1)
def hwlib_paths() -> tuple[Path, Path]:
    """(the student package's folder, its data folder: ``hwlib._paths.data_dir()``), both resolved, found without
    importing hwlib (which imports torch)."""
    hwlib_dir = _hwlib_dir()
    data_dir = _module_from_file("_hwlib_paths", hwlib_dir / "_paths.py").data_dir
    return hwlib_dir, data_dir().resolve()


@functools.lru_cache(maxsize=1)
def grader_host() -> Host:
    """This grader's :class:`~autograder.sandbox.Host` (computed once per process)."""
    package = Path(__file__).resolve().parent
    hwlib_dir, data_dir = hwlib_paths()
    import_paths = tuple(sorted({str(package.parent), str(hwlib_dir.parent)}))
    binds = (str(hwlib_dir), str(data_dir), *_package_files(package))
    return Host(import_paths=import_paths, binds=binds, registry=REGISTRY, preload=("hwlib",))
