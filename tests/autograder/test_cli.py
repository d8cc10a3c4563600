"""python -m autograder: the command line over the core."""
import csv
import os
import subprocess
import sys

from fixtures import examples_dir


def test_grade_command_writes_csv_and_feedback(assignment, tmp_path):
    examples = examples_dir(assignment)
    out = tmp_path / "grades.csv"
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(examples / "perfect.ipynb"), str(examples / "wrong.ipynb"),
         "--assignment", assignment.id, "--out", str(out), "--workers", "2", "--timeout", "60", "--memory-mb", "2048",
         "--device", "cpu"], capture_output=True, text=True, env={**os.environ, "HWLIB_NO_NETWORK": "1"}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(r["student"], r["total"], r["max"]) for r in rows] == [("perfect", "9", "9"), ("wrong", "0", "9")]
    assert (tmp_path / "feedback" / "perfect.html").is_file()


def test_bad_arguments_say_what_was_expected(tmp_path, assignment):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                              timeout=120)
    result = run("grade", str(tmp_path), "--assignment", "99_nope")
    assert result.returncode != 0 and "unknown assignment '99_nope'; known: " in result.stderr
    assert assignment.id in result.stderr
    result = run("grade", str(tmp_path / "missing.ipynb"), "--assignment", assignment.id)
    assert result.returncode != 0 and "submission path not found" in result.stderr
