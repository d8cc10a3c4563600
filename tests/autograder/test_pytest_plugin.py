"""autograder.pytest_plugin: a submission graded through pytest, one item per check, JUnit with points."""
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

from fixtures import examples_dir


def run_pytest(assignment, example, tmp_path):
    report = tmp_path / f"{example}.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-q",
         "--assignment", assignment.id, str(examples_dir(assignment) / f"{example}.ipynb"),
         f"--junitxml={report}", "-o", "junit_family=xunit1", "--grader-timeout", "60",
         "--rootdir", str(tmp_path), "-c", "/dev/null"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    return result, ET.parse(report).getroot()


def cases_by_name(root):
    return {case.get("name"): case for case in root.iter("testcase")}


def test_perfect_passes_every_item_and_exits_zero(assignment, tmp_path):
    result, root = run_pytest(assignment, "perfect", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    cases = cases_by_name(root)
    assert sorted(cases) == sorted(c.name for c in assignment.checks)
    for check in assignment.checks:
        props = {p.get("name"): p.get("value") for p in cases[check.name].iter("property")}
        assert float(props["points"]) == float(props["max_points"]) == check.points


def test_wrong_fails_with_the_student_messages_and_exits_one(assignment, tmp_path):
    result, root = run_pytest(assignment, "wrong", tmp_path)
    assert result.returncode == 1
    cases = cases_by_name(root)
    assert len(cases) == len(assignment.checks)
    failures = [case.find("failure") for case in cases.values()]
    assert all(f is not None for f in failures)
    messages = " ".join(f.get("message", "") + (f.text or "") for f in failures)
    assert "points" in messages and "differs from the reference" in messages
    assert all(float({p.get("name"): p.get("value") for p in c.iter("property")}["points"]) == 0
               for c in cases.values())


# ------------------------------------------------------------------ the quiz as one item, totals from the grader

def synthetic_result(assignment, right_quiz: int, code_right: bool):
    """A graded result without grading: every code check right (or wrong), the first ``right_quiz`` questions."""
    from autograder.grade import CheckResult, SubmissionResult

    checks, quiz_seen = [], 0
    for check in assignment.checks:
        if check.probe.callable:
            ok = code_right
        else:
            ok, quiz_seen = quiz_seen < right_quiz, quiz_seen + 1
        checks.append(CheckResult(check.name, check.function, check.description, float(check.points) * ok,
                                  float(check.points), "" if ok else f"{check.name} is wrong"))
    return SubmissionResult("student", assignment.id, "x", "", "k", checks)


def run_in_process(tmp_path, monkeypatch, assignment, result, *extra):
    """The plugin in an in-process pytest session whose grader returns ``result``: (exit status, output, cases)."""
    import pytest
    from autograder import batch

    monkeypatch.setattr(batch, "grade_batch", lambda *args, **kwargs: [result])
    notebook = tmp_path / "student.ipynb"
    notebook.write_text("{}")
    report = tmp_path / "report.xml"
    status = pytest.main(["-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-q", "--assignment",
                          assignment.id, str(notebook), f"--junitxml={report}", "-o", "junit_family=xunit1",
                          "--rootdir", str(tmp_path), "-c", "/dev/null", *extra])
    return int(status), cases_by_name(ET.parse(report).getroot())


def test_the_quiz_is_one_item_that_says_how_many_not_which(tmp_path, monkeypatch, capsys):
    """A quiz of many questions: one JUnit case "quiz" with k of n and the points summed; no case, name or
    message tells which question is right."""
    from autograder.assignments import registered

    assignment = next(a for a in registered() if any(not c.probe.callable for c in a.checks))
    questions = [c for c in assignment.checks if not c.probe.callable]
    status, cases = run_in_process(tmp_path, monkeypatch, assignment, synthetic_result(assignment, 2, True))
    output = capsys.readouterr().out
    code = [c.name for c in assignment.checks if c.probe.callable]
    assert sorted(cases) == sorted(code + ["quiz"]) and status == 1
    quiz = cases["quiz"]
    props = {p.get("name"): p.get("value") for p in quiz.iter("property")}
    assert float(props["max_points"]) == sum(c.points for c in questions)
    assert float(props["points"]) == sum(c.points for c in questions[:2])
    assert f"2 of {len(questions)} quiz questions are right" in ET.tostring(quiz, encoding="unicode")
    report = (tmp_path / "report.xml").read_text()
    assert not any(c.name in report or c.name in output for c in questions)


def test_totals_and_exit_status_come_from_the_grader_whatever_is_deselected(tmp_path, monkeypatch, capsys, assignment):
    """Only passing items selected (-k, --deselect): the session still says the grader's total and exits 1;
    a full-marks submission exits 0 even with every item deselected."""
    half = synthetic_result(assignment, 0, False)
    half.checks[0] = replace(half.checks[0], points=half.checks[0].max_points, message="")
    first = assignment.checks[0].name
    status, cases = run_in_process(tmp_path, monkeypatch, assignment, half, "-k", first)
    output = capsys.readouterr().out
    assert list(cases) == [first] and status == 1
    assert f"student: {half.total:g} / {assignment.max_points:g} points (the grader's total)" in output
    status, _ = run_in_process(tmp_path, monkeypatch, assignment, synthetic_result(assignment, 99, True),
                               "-k", "no_such_item")
    assert status == 0


def test_ci_verb_forwards_to_the_ci_front_end(monkeypatch):
    from autograder import ci, cli

    seen = []
    monkeypatch.setattr(ci, "main", lambda argv: seen.append(argv) or 7)
    assert cli.main(["ci", "sub.ipynb", "--assignment", "a", "--junitxml", "r.xml"]) == 7
    assert seen == [["sub.ipynb", "--assignment", "a", "--junitxml", "r.xml"]]
