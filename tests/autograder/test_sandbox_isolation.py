"""autograder.sandbox and autograder.jail: what student code can and cannot reach. A spy submission reports what
it sees from inside (its printed output comes back to the parent) and tries to get out."""
import json

import pytest

from autograder.assignments import repo_root, solution_notebook
from autograder.extract import Cell
from autograder.sandbox import observe
from autograder.reference import cache_dir
from autograder.sandbox import Sandbox, isolation
from autograder.sandbox_host import grader_host

from autograder_helpers import TEST_LIMITS, needs_namespaces

SPY = '''
import json, os, socket
from pathlib import Path
report = {{"uid": os.getuid(), "root": sorted(os.listdir("/")), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit())}}
for name, path in {targets!r}.items():
    try:
        report[name] = open(path, "rb").read(20).decode("latin-1")
    except OSError as err:
        report[name] = type(err).__name__
for name, path in {writes!r}.items():
    try:
        open(path, "a").write("x")
        report[name] = "written"
    except OSError as err:
        report[name] = type(err).__name__
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    report["net"] = "connected"
except OSError as err:
    report["net"] = type(err).__name__
print("SPY" + json.dumps(report))
'''


def spy(assignment, level):
    targets = {"solution": str(solution_notebook(assignment)), "git": str(repo_root() / ".git" / "HEAD"),
               "reference": next((str(p) for p in cache_dir().glob("*.npz")), "/nonexistent"),
               "shadow": "/etc/shadow"}
    writes = {"write_hwlib": str(repo_root() / "hwlib" / "__init__.py"),
              "write_autograder": str(repo_root() / "autograder" / "grade.py")}
    cell = Cell("compute_saliency_maps", SPY.format(targets=targets, writes=writes), 0)
    with Sandbox(level=level, host=grader_host()) as sandbox:
        obs = observe([cell], assignment, TEST_LIMITS, "cpu", sandbox)
    line = next(l for l in obs.output_tail.splitlines() if l.startswith("SPY"))
    return json.loads(line[3:]), targets


@needs_namespaces
@pytest.mark.parametrize("level", ["default", "user-namespaces"])
def test_student_code_sees_neither_solutions_nor_references_nor_the_host(assignment, level):
    """Inside the sandbox: no solution notebook, no git history, no reference outputs, no other processes, no
    network, and the grader's own code is read-only."""
    if level == "user-namespaces" and isolation() != "namespaces":
        level = "default"   # already the level in use
    report, targets = spy(assignment, None if level == "default" else level)
    assert report["solution"] in ("FileNotFoundError", "PermissionError")
    assert report["git"] == "FileNotFoundError"
    assert report["reference"] in ("FileNotFoundError", "PermissionError")
    if level == "default" and isolation() == "namespaces":   # (a user namespace keeps the invoking user's uid)
        assert report["shadow"] == "PermissionError"
    assert report["write_hwlib"] != "written" and report["write_autograder"] != "written"
    assert report["net"] in ("OSError", "ConnectionRefusedError") and report["net"] != "connected"
    assert report["pids"] == ["1", "2"], "other processes are visible (1: the supervising init, 2: the student)"


@needs_namespaces
def test_as_root_the_student_runs_as_an_unprivileged_user(assignment):
    if isolation() != "namespaces":
        pytest.skip("only when grading as root")
    report, _ = spy(assignment, None)
    assert report["uid"] >= 61000


def test_isolation_can_be_weakened_only_on_purpose(monkeypatch):
    """$AUTOGRADER_ISOLATION picks a weaker level; an unknown value is an error."""
    isolation.cache_clear()
    try:
        monkeypatch.setenv("AUTOGRADER_ISOLATION", "bogus")
        with pytest.raises(ValueError, match="AUTOGRADER_ISOLATION"):
            isolation()
        isolation.cache_clear()
        monkeypatch.setenv("AUTOGRADER_ISOLATION", "none")
        assert isolation() == "none"
    finally:
        isolation.cache_clear()


def test_without_namespaces_grading_still_works_and_scores_the_same(assignment):
    """The weakest level (resource limits and a session only) gives the same verdicts on honest submissions."""
    from fixtures import examples_dir
    from autograder.grade import grade_notebook
    from autograder.reference import cache_key, reference_outputs

    reference, context = reference_outputs(assignment), assignment.make_context("cpu")
    totals = {}
    with Sandbox(level="none", host=grader_host()) as sandbox:
        for name in ("perfect", "one_bug", "wrong"):
            result, _ = grade_notebook(examples_dir(assignment) / f"{name}.ipynb", name, assignment, reference,
                                       context, cache_key(assignment), TEST_LIMITS, "cpu", sandbox)
            totals[name] = (result.total, result.isolation)
    assert {level for _, level in totals.values()} == {"none"}
    assert totals["perfect"][0] == assignment.max_points and totals["wrong"][0] == 0
    assert 0 < totals["one_bug"][0] < assignment.max_points
