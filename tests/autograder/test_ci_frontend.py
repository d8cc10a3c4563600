"""The CI front end run as documented inside hostile student repositories: nothing of the repository counts.

Every repository holds the untouched student release (0 points) plus files that took over the old pytest front
end (each one alone made `python -m pytest -p autograder.pytest_plugin ...` exit 0 with a full report): a
conftest.py, a package shadowing `autograder`, a pytest.ini whose addopts load a plugin from the repository or
deselect the failing checks, a sitecustomize.py / usercustomize.py, a `.pth` file, shadow `hwlib` and `numpy`
packages, PYTHONPATH pointing at the repository, and a report file planted as a symbolic link.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from autograder.assignments import load_assignment, registered, release_notebook

FAKE_REPORT = ('<?xml version="1.0"?><testsuite tests="1" failures="0"><testcase name="all" classname="x">'
               '<properties><property name="points" value="999"/></properties></testcase></testsuite>')
SHADOW_MAIN = f"""
import sys
for a in sys.argv:
    if a.startswith("--junitxml"):
        open(a.split("=", 1)[1] if "=" in a else sys.argv[sys.argv.index(a) + 1], "w").write({FAKE_REPORT!r})
print("12 passed")
sys.exit(0)
"""
EVERYTHING_PASSES = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""


def hostile_repository(root, assignment) -> None:
    """A student repository around the untouched release notebook with every trick that fooled the old front end."""
    shutil.copy(release_notebook(assignment), root / "submission.ipynb")
    (root / "conftest.py").write_text(EVERYTHING_PASSES)
    (root / "evil_plugin.py").write_text(EVERYTHING_PASSES)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p evil_plugin --deselect submission.ipynb -k nothing\n")
    (root / "tox.ini").write_text("[pytest]\naddopts = -p evil_plugin\n")
    (root / "setup.cfg").write_text("[tool:pytest]\naddopts = -p evil_plugin\n")
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p evil_plugin"\n')
    for package in ("autograder", "hwlib", "numpy"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("import sys\nprint('12 passed')\nsys.exit(0)\n")
    (root / "autograder" / "__main__.py").write_text(SHADOW_MAIN)
    (root / "autograder" / "ci.py").write_text(SHADOW_MAIN)
    (root / "autograder" / "pytest_plugin.py").write_text(EVERYTHING_PASSES)
    for name in ("sitecustomize.py", "usercustomize.py"):
        (root / name).write_text("import os\nos._exit(0)\n")
    (root / "evil.pth").write_text("import os; os._exit(0)\n")
    (root / "__init__.py").write_text("import os\nos._exit(0)\n")
    (root / "report.xml").symlink_to(root / "planted.xml")   # the grader must replace it, not write through it


def test_hostile_repositories_get_the_release_score_and_fail(tmp_path):
    """The documented command in a repository built to fool it: 0 points in the report, exit status 1."""
    assignment = load_assignment(registered()[0].id)
    root = tmp_path / "repo"
    root.mkdir()
    hostile_repository(root, assignment)
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONSTARTUP": str(root / "sitecustomize.py"),
           "PYTEST_ADDOPTS": "-p evil_plugin", "PYTEST_PLUGINS": "evil_plugin"}
    result = subprocess.run([sys.executable, "-I", "-m", "autograder.ci", "submission.ipynb", "--assignment",
                             assignment.id, "--junitxml", "report.xml", "--timeout", "60"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 1, output
    assert f"{assignment.id}: 0 / {assignment.max_points:g} points" in result.stdout, output
    report = root / "report.xml"
    assert not report.is_symlink() and not (root / "planted.xml").exists()
    suite = ET.parse(report).getroot()
    props = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}
    assert float(props["points"]) == 0 and float(props["max_points"]) == assignment.max_points
    cases = list(suite.iter("testcase"))
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(cases) > 0
    assert all(float({p.get("name"): p.get("value") for p in c.iter("property")}["points"]) == 0 for c in cases)
