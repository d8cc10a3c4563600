"""Helpers to build a throw-away nbgrader course (a copy of the repository's course files) in a temp folder."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK_OFFLINE = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1"}


def nbgrader(course: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` inside ``course/autograder`` with this interpreter's scripts on PATH."""
    bindir = str(Path(sys.executable).parent)
    full_env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run([os.path.join(bindir, "nbgrader"), *args], cwd=course / "autograder", env=full_env,
                          capture_output=True, text=True, timeout=1800)


def make_course(tmp: Path, assignment_id: str, with_release: bool = True) -> Path:
    """A course root in ``tmp`` with one assignment's solutions/, the nbgrader config and (optionally) the
    committed release."""
    course = tmp / "course"
    (course / "autograder").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", course / "autograder")
    shutil.copytree(ROOT / "solutions" / assignment_id, course / "solutions" / assignment_id)
    if with_release:
        shutil.copytree(ROOT / "notebooks" / assignment_id, course / "notebooks" / assignment_id)
    return course


@contextmanager
def file_lock(path: Path):
    """An exclusive lock on ``path`` (created), held for the ``with`` block: one xdist worker at a time."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_folder(tmp_path_factory) -> Path:
    """A folder shared by all xdist workers of this test session."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def solution_namespace(assignment) -> dict:
    """The solution notebook's functions of ``assignment``, executed as the grader does
    (:func:`autograder.assignments.solution_namespace`; a cell that raises fails the calling test)."""
    from autograder.assignments import solution_namespace as namespace

    return namespace(assignment)
