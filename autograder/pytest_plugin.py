"""The pytest front end: one test item per check of a submission, for CI autograding (GitHub Classroom & co).

    pytest -p autograder.pytest_plugin --assignment <assignment id> submission.ipynb \\
        --junitxml=report.xml -o junit_family=xunit1

Each notebook given on the command line is graded ONCE by the same fast grader as ``python -m autograder grade``
(student code in the sandboxed child, the comparison in this trusted process), then every check becomes one test
item: it passes when the check gave full marks, it fails with the student's message otherwise. Points go into the
item's ``user_properties`` (``points``, ``max_points``), which pytest writes as JUnit ``<property>`` elements (use
``junit_family=xunit1``: xunit2's schema has no per-testcase properties). Nothing the student's process prints or
patches reaches pytest: it only ever sees the verdicts computed here.

Options: ``--assignment ID`` (required), ``--grader-timeout`` seconds for the whole submission, ``--grader-memory-mb``,
``--grader-device auto|cpu|cuda``, ``--grader-out DIR`` (keeps the CSV and the HTML feedback page; default: a
temporary folder).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "grade course notebooks (one test item per check)")
    group.addoption("--assignment", help="assignment id of the notebooks given on the command line")
    group.addoption("--grader-timeout", type=float, default=60.0, help="seconds for one submission (default 60)")
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
        out = config.getoption("grader_out") or Path(tempfile.mkdtemp(prefix="autograder-pytest-"))
        submissions = find_submissions([self.path], assignment)
        limits = Limits(timeout_s=config.getoption("grader_timeout"), memory_mb=config.getoption("grader_memory_mb"))
        results = grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers=1,
                              limits=limits, device=resolve_device(config.getoption("grader_device")), force=True,
                              log=lambda *_: None)
        if not results:
            raise pytest.UsageError(f"{self.path}: the grader could not grade this submission (see stderr).")
        for check in results[0].checks:
            yield CheckItem.from_parent(self, name=check.name, check=check)


class CheckItem(pytest.Item):
    """One check's verdict (already computed by the trusted grader)."""

    def __init__(self, *, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.user_properties += [("points", f"{check.points:g}"), ("max_points", f"{check.max_points:g}"),
                                 ("function", check.function)]

    def runtest(self) -> None:
        if not self.check.passed:
            raise CheckFailed(self.check.message)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            c = self.check
            return f"{c.function} - {c.description} ({c.points:g}/{c.max_points:g} points): {c.message}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.check.function}::{self.name}"
