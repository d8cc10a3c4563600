"""Grades do not depend on machine load: the deadline counts the submission's own CPU time (plus its idle time),
so a batch graded while every core is busy gives the same CSV as one graded on a quieter machine."""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace

from fixtures import examples_dir
from autograder.batch import csv_text, find_submissions
from autograder.grade import grade_notebook
from autograder.reference import cache_key, reference_outputs
from autograder.sandbox import Sandbox
from autograder.sandbox_host import grader_host
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


def _grade(folder, assignment, reference, context, sandbox):
    """The batch's CSV (one warm sandbox for both runs: the launcher's start-up is not what is measured)."""
    key, results = cache_key(assignment), []
    for submission in find_submissions([folder], assignment):
        result, _ = grade_notebook(submission.path, submission.student, assignment, reference, context, key, LIMITS,
                                   "cpu", sandbox)
        results.append(result)
    return csv_text(results, assignment), {r.student: r for r in results}


def test_a_busy_machine_gives_the_same_grades(assignment, tmp_path):
    """The same small batch graded twice: once as it is, once while four busy processes (nice 0) share both
    cores with the grader. Same CSV; the honest slow submission keeps full marks and the infinite loop is
    stopped by its CPU time."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in EXAMPLES:
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    reference, context = reference_outputs(assignment), assignment.make_context("cpu")
    with Sandbox(0, threads=LIMITS.threads, host=grader_host()) as sandbox:
        sandbox.warm_up(assignment.id)
        quiet, results = _grade(folder, assignment, reference, context, sandbox)
        assert results["slow_perfect"].total == results["slow_perfect"].max
        assert results["perfect"].total == results["perfect"].max
        loop = " ".join(c.message for c in results["hostile_infinite_loop"].checks)
        assert "did not finish within the time limit" in loop   # (its CPU time, unless the machine is so busy
        #                                                           that the 90 s backstop comes first)

        hogs = [subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL) for _ in range(HOGS)]
        try:
            busy, _ = _grade(folder, assignment, reference, context, sandbox)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    print(f"quiet:\n{quiet}busy:\n{busy}")
    assert busy == quiet


def test_the_row_says_which_limit_was_hit():
    """CPU time vs the wall-clock backstop (5x the limit, at most 10 minutes more, unless set)."""
    limits = Limits(timeout_s=15)
    assert "used 15 s of CPU time" in _why(ChildRun(timed_out=True, limit_hit="cpu"), limits)
    assert "wall-clock backstop of 75 s" in _why(ChildRun(timed_out=True, limit_hit="wall"), limits)
    assert Limits(timeout_s=600).backstop == 1200 and Limits(timeout_s=1, wall_backstop_s=3).backstop == 3



BURNER = """
import os, time
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
if os.fork() == 0:
    burn(0.6)
    os._exit(0)
os.wait()
burn(0.3)
time.sleep(0.5)
"""


def test_without_control_groups_the_kernel_accounting_counts_children_already_reaped():
    """The fallback where no group accounts CPU time: the process tree's utime+stime+cutime+cstime, so the
    0.6 s of a child that has ended and been reaped still count (the charge would be ~0.35 s without them)."""
    import time
    from types import SimpleNamespace

    from autograder.sandbox.parent import _Meter

    proc = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.DEVNULL)
    meter = _Meter(SimpleNamespace(cgroup=None), proc.pid, "namespaces")
    charged = 0.0
    while proc.poll() is None:
        charged = meter.sample()
        time.sleep(0.05)
    assert 0.85 <= charged < 30
