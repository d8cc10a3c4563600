"""Grades do not depend on machine load: the deadline counts the submission's own CPU time (plus its idle time),
so a batch graded while every core is busy gives the same CSV as one graded on a quieter machine."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace

from fixtures import examples_dir
from autograder.batch import find_submissions, grade_batch
from autograder.sandbox.parent import ChildRun, Limits
from autograder.sandbox.observe import _why

from autograder_helpers import TEST_LIMITS

EXAMPLES = ("perfect", "slow_perfect", "one_bug", "hostile_infinite_loop")
# slow_perfect needs ~1.1 s of CPU and sleeps 1.5 s (2.6 s of its own time): it meets 4 s with little margin,
# while on a machine whose two cores are shared with four busy processes its wall time is well above 4 s.
# The backstop is wide so that the suite's own load never reaches it (it is tested below on its message).
LIMITS = replace(TEST_LIMITS, timeout_s=4, wall_backstop_s=90)
HOGS = 4
HOG = "import time\nend = time.monotonic() + 150\nwhile time.monotonic() < end:\n    pass\n"   # bounded anyway


def _grade(folder, out, assignment):
    results = grade_batch(find_submissions([folder], assignment), assignment, out / "grades.csv", out / "feedback",
                          workers=1, limits=LIMITS, device="cpu", log=lambda line: None)
    return (out / "grades.csv").read_text(), {r.student: r for r in results}


def test_a_busy_machine_gives_the_same_grades(assignment, tmp_path):
    """The same small batch graded twice: once as it is, once while four busy processes (nice 0) share both
    cores with the grader. Same CSV; the honest slow submission keeps full marks and the infinite loop is
    stopped by its CPU time."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in EXAMPLES:
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    quiet, results = _grade(folder, tmp_path / "quiet", assignment)
    assert results["slow_perfect"].total == results["slow_perfect"].max
    assert results["perfect"].total == results["perfect"].max
    loop = " ".join(c.message for c in results["hostile_infinite_loop"].checks)
    assert f"used {LIMITS.timeout_s:g} s of CPU time" in loop

    hogs = [subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL) for _ in range(HOGS)]
    try:
        busy, _ = _grade(folder, tmp_path / "busy", assignment)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert busy == quiet


def test_the_row_says_which_limit_was_hit():
    """CPU time vs the wall-clock backstop (5x the limit, at most 10 minutes more, unless set)."""
    limits = Limits(timeout_s=15)
    assert "used 15 s of CPU time" in _why(ChildRun(timed_out=True, limit_hit="cpu"), limits)
    assert "wall-clock backstop of 75 s" in _why(ChildRun(timed_out=True, limit_hit="wall"), limits)
    assert Limits(timeout_s=600).backstop == 1200 and Limits(timeout_s=1, wall_backstop_s=3).backstop == 3

