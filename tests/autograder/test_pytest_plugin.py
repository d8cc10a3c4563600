"""autograder.pytest_plugin: a submission graded through pytest, one item per check, JUnit with points."""
import subprocess
import sys
import xml.etree.ElementTree as ET

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
