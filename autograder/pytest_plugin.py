"""The pytest front end: one test item per check of a submission, for CI autograding (GitHub Classroom & co).

    pytest -p autograder.pytest_plugin --assignment <assignment id> submission.ipynb \\
        --junitxml=report.xml -o junit_family=xunit1

Each notebook given on the command line is graded ONCE by the same fast grader as ``python -m autograder grade``
(student code in the sandboxed child, the comparison in this trusted process), then every code check becomes one
test item: it passes when the check gave full marks, it fails with the student's message otherwise. The quiz (every
check whose probe is a plain value, not a function) is ONE item, "k of n quiz questions right" with the points
summed: which questions are right is never reported here (15 pushes would otherwise reveal the key); the
per-question results are only in the instructor's CSV (``--grader-out``). Points go into the item's
``user_properties`` (``points``, ``max_points``), which pytest writes as JUnit ``<property>`` elements (use
``junit_family=xunit1``: xunit2's schema has no per-testcase properties). The totals come from the grader, not from
which items ran: the session ends with one line per submission, "<student>: <total> / <max> points (grader's
total)", and its exit status is 1 unless every submission has full marks, whatever was deselected or skipped.
Nothing the student's process prints or patches reaches pytest: it only ever sees the verdicts computed here. For
CI in a student's repository use ``python -I -m autograder.ci`` (it trusts nothing of the repository; pytest
reads the repository's conftest and ini files).

Options: ``--assignment ID`` (required), ``--grader-timeout`` seconds for the whole submission, ``--grader-memory-mb``,
``--grader-device auto|cpu|cuda``, ``--grader-out DIR`` (keeps the CSV and the HTML feedback page; default: a
temporary folder, removed after grading).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "grade course notebooks (one test item per check)")
    group.addoption("--assignment", help="assignment id of the notebooks given on the command line")
    group.addoption("--grader-timeout", type=float, default=60.0, help="CPU seconds for one submission (default 60)")
    group.addoption("--grader-memory-mb", type=int, default=4096, help="memory cap of student code (default 4096)")
    group.addoption("--grader-device", default="auto", choices=("auto", "cpu", "cuda"), help="where student code runs")
    group.addoption("--grader-out", type=Path, default=None, help="folder for the CSV and the feedback page")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".ipynb" and parent.config.getoption("assignment"):
        return Submission.from_parent(parent, path=file_path)
    return None


class CheckFailed(Exception):
    """A check did not give full marks; the message is the student's."""


class Submission(pytest.File):
    """One student notebook: graded once, collected as one item per check."""

    def collect(self):
        from .assignments import load_assignment
        from .batch import find_submissions, grade_batch
        from .sandbox import Limits
        from .sandbox.device_shim import resolve_device

        config = self.config
        try:
            assignment = load_assignment(config.getoption("assignment"))
        except ValueError as err:
            raise pytest.UsageError(str(err)) from None
        own_out = config.getoption("grader_out")
        out = own_out or Path(tempfile.mkdtemp(prefix="autograder-pytest-"))
        submissions = find_submissions([self.path], assignment)
        limits = Limits(timeout_s=config.getoption("grader_timeout"), memory_mb=config.getoption("grader_memory_mb"))
        try:
            results = grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers=1,
                                  limits=limits, device=resolve_device(config.getoption("grader_device")),
                                  force=True, log=lambda *_: None)
        finally:
            if own_out is None:   # the per-question results stay with the instructor, never in a shared /tmp
                shutil.rmtree(out, ignore_errors=True)
        if not results:
            raise pytest.UsageError(f"{self.path}: the grader could not grade this submission (see stderr).")
        config.stash.setdefault(TOTALS, []).append((results[0].student, results[0].total, results[0].max))
        for group in report_items(assignment, results[0]):
            yield CheckItem.from_parent(self, name=group["name"], check=group)


TOTALS = pytest.StashKey[list]()


def report_items(assignment, result) -> list[dict]:
    """One entry per test item: each code check on its own, the quiz folded into one (see ``ci.report_groups``)."""
    from .ci import report_groups

    return report_groups(assignment, result)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for student, total, maximum in config.stash.get(TOTALS, []):
        terminalreporter.write_line(f"autograder: {student}: {total:g} / {maximum:g} points (the grader's total)")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    """The exit status from the grader's totals: 1 unless every graded submission has full marks."""
    totals = session.config.stash.get(TOTALS, [])
    if totals and int(exitstatus) in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                      pytest.ExitCode.NO_TESTS_COLLECTED):
        full = all(total == maximum for _, total, maximum in totals)
        session.exitstatus = pytest.ExitCode.OK if full else pytest.ExitCode.TESTS_FAILED


class CheckItem(pytest.Item):
    """One check's verdict, or the quiz's count (already computed by the trusted grader)."""

    def __init__(self, *, check: dict, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.user_properties += [("points", f"{check['points']:g}"), ("max_points", f"{check['max_points']:g}"),
                                 ("function", check["function"])]

    def runtest(self) -> None:
        if not self.check["passed"]:
            raise CheckFailed(self.check["message"])

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            c = self.check
            return (f"{c['function']} - {c['description']} ({c['points']:g}/{c['max_points']:g} points): "
                    f"{c['message']}")
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.check['function']}::{self.name}"
