"""The CI front end (GitHub Classroom, any CI): one submission graded by the sandboxed fast grader, a JUnit report
whose every number comes from the grader.

    python -I -m autograder.ci SUBMISSION.ipynb --assignment ID --junitxml report.xml

It runs in the STUDENT's repository, so it trusts nothing of it:

- ``-I`` (isolated mode): neither the current folder nor ``PYTHONPATH``/``PYTHONHOME``/``PYTHONSTARTUP`` nor the
  user's site-packages is on the import path, so a folder called ``autograder/``, ``hwlib/``, ``numpy/`` or a
  ``sitecustomize.py`` in the repository is never imported; the grader is the installed course's;
- no pytest: no ``conftest.py``, ``pytest.ini``/``tox.ini``/``setup.cfg``/``pyproject.toml`` option, plugin,
  ``--deselect`` or rootdir discovery can take part; nothing is collected, so nothing can be left out;
- the submission is data: it is read as a regular file (never through a symbolic link), its cells run only in the
  sandboxed child, and this process works in a private temporary folder (nothing relative to the repository);
- the report's totals, its test count and its exit status come from the grader's verdicts;
- the quiz is reported as ONE test case saying how many questions are right, never which (an answer key must not
  leak through repeated pushes); per-question results are only in the instructor's CSV (``--out``).

Exit status: 0 when the submission has full marks, 1 otherwise (2 for a usage error).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

QUIZ_CASE = "quiz"


def report_groups(assignment, result) -> list[dict]:
    """One entry per JUnit test case: each code check on its own; every check of a quiz (a probe of a plain
    value, not a function) folded into one case that says how many of its questions are right, not which."""
    by_name = {c.name: c for c in result.checks}
    groups, quiz = [], None
    for check in assignment.checks:
        got = by_name.get(check.name)
        points = got.points if got is not None else 0.0
        if not check.probe.callable:
            if quiz is None:
                quiz = {"name": QUIZ_CASE, "function": check.function, "points": 0.0, "max_points": 0.0,
                        "right": 0, "questions": 0}
                groups.append(quiz)
            quiz["points"] += points
            quiz["max_points"] += float(check.points)
            quiz["questions"] += 1
            quiz["right"] += int(got is not None and got.passed)
            continue
        groups.append({"name": check.name, "function": check.function, "points": points,
                       "max_points": float(check.points), "passed": got is not None and got.passed,
                       "message": (got.message if got is not None else "not graded"),
                       "description": check.description})
    if quiz is not None:
        quiz["passed"] = quiz["right"] == quiz["questions"]
        quiz["description"] = "the quiz"
        quiz["message"] = (f"{quiz['right']} of {quiz['questions']} quiz questions are right (which ones is not "
                           "reported here).")
    return groups


def junit_xml(assignment, result, groups: list[dict]) -> bytes:
    """The JUnit (xunit1) report: one test case per group, points as properties, the grader's total in the
    suite's properties."""
    failures = sum(1 for g in groups if not g["passed"])
    suite = ET.Element("testsuite", name=f"autograder.{assignment.id}", tests=str(len(groups)),
                       failures=str(failures), errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for name, value in (("assignment", assignment.id), ("points", f"{result.total:g}"),
                        ("max_points", f"{result.max:g}"), ("graded", str(result.graded).lower())):
        ET.SubElement(props, "property", name=name, value=value)
    for g in groups:
        case = ET.SubElement(suite, "testcase", classname=f"{assignment.id}.{g['function']}", name=g["name"])
        cprops = ET.SubElement(case, "properties")
        for name, value in (("points", f"{g['points']:g}"), ("max_points", f"{g['max_points']:g}"),
                            ("function", g["function"])):
            ET.SubElement(cprops, "property", name=name, value=value)
        if not g["passed"]:
            text = (f"{g['function']} - {g['description']} ({g['points']:g}/{g['max_points']:g} points): "
                    f"{g['message']}")
            failure = ET.SubElement(case, "failure", message=text[:500])
            failure.text = text
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` by renaming a new file over it: a symbolic link planted at ``path`` is
    replaced, never followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -I -m autograder.ci",
                                description="Grade one submission in CI with the sandboxed grader; JUnit report.")
    p.add_argument("submission", type=Path, help="the student's notebook")
    p.add_argument("--assignment", required=True, help="assignment id (see `python -m autograder list`)")
    p.add_argument("--junitxml", type=Path, help="where to write the JUnit report (points as properties)")
    p.add_argument("--timeout", type=float, default=60.0, help="CPU seconds for the whole submission (default 60)")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory of the submission (default 4096)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where student code runs")
    p.add_argument("--out", type=Path, help="instructor only: a folder for the per-check CSV and the feedback page "
                                            "(they name every quiz question's result)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    submission = Path(os.path.abspath(args.submission))
    junit = Path(os.path.abspath(args.junitxml)) if args.junitxml else None
    out_dir = Path(os.path.abspath(args.out)) if args.out else None
    if not sys.flags.isolated:
        print("WARNING: run this as `python -I -m autograder.ci ...`: without -I, files of the current folder "
              "could be imported in place of the grader.", file=sys.stderr)
    private = tempfile.mkdtemp(prefix="autograder-ci-")
    os.chdir(private)   # nothing below resolves a path relative to the student's repository
    try:
        return _grade(args, submission, junit, out_dir, Path(private))
    finally:
        os.chdir("/")
        shutil.rmtree(private, ignore_errors=True)


def _grade(args, submission: Path, junit: Path | None, out_dir: Path | None, private: Path) -> int:

    from .assignments import load_assignment
    from .batch import find_submissions, grade_batch
    from .sandbox import Limits
    from .sandbox.device_shim import resolve_device

    try:
        assignment = load_assignment(args.assignment)
        submissions = find_submissions([submission], assignment)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(submissions) != 1:
        print("error: give exactly one notebook.", file=sys.stderr)
        return 2
    out = out_dir or private
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb)
    results = grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers=1, limits=limits,
                          device=resolve_device(args.device), force=True, log=lambda *_: None)
    result = results[0]
    groups = report_groups(assignment, result)
    for g in groups:
        state = "PASS" if g["passed"] else "FAIL"
        print(f"{state} {g['function']}::{g['name']} ({g['points']:g}/{g['max_points']:g}): {g['message']}")
    print(f"{assignment.id}: {result.total:g} / {result.max:g} points"
          + ("" if result.graded else " (the grader failed on this submission; run again)"))
    if junit is not None:
        _write_replacing(junit, junit_xml(assignment, result, groups))
    return 0 if result.graded and result.total == result.max and result.max > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
