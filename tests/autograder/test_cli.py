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


def test_the_quick_demo_grades_a_representative_set_of_every_kind(assignment):
    """Does the quick demo's table show full marks, a bug, a wrong answer, the untouched release, an unreadable
    file, known variants and attacks, in a few submissions rather than every example?"""
    from autograder.batch import find_submissions
    from autograder.demo import representative

    every = find_submissions([examples_dir(assignment)], assignment)
    chosen = [s.student for s in representative(every)]
    assert chosen[:5] == ["perfect", "one_bug", "wrong", "release", "unparseable"]
    assert sum(s.startswith("variant_") for s in chosen) == 2 and sum(s.startswith("hostile_") for s in chosen) == 2
    assert len(chosen) < len(every) / 4


def test_demo_arguments_quick_by_default_full_on_request():
    """Is the demo quick (two notebooks at a time) unless --full is given?"""
    import argparse

    from autograder.demo import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert not parser.parse_args([]).full and parser.parse_args(["--full"]).full
    assert parser.parse_args(["--parallel", "3"]).parallel == 3


def test_quick_demo_leaves_out_exactly_the_hidden_test_blocks():
    """The quick demo executes solution notebooks without their hidden tests: is every hidden line gone, every
    visible line kept, and does a solution notebook's hidden cell lose its call to the grader?"""
    import nbformat

    from autograder.assignments import registered, solution_notebook
    from autograder.notebook_run import without_hidden_tests

    source = "x = 1\nassert x == 1\n### BEGIN HIDDEN TESTS\nsecret()\n  ### END HIDDEN TESTS\nprint(x)\n"
    assert without_hidden_tests(source) == "x = 1\nassert x == 1\nprint(x)\n"
    assert without_hidden_tests("a\nb") == "a\nb"
    nb = nbformat.read(solution_notebook(registered()[0]), as_version=4)
    hidden = [c.source for c in nb.cells if "### BEGIN HIDDEN TESTS" in c.source]
    assert hidden and all("run_hidden_checks" not in without_hidden_tests(s) for s in hidden)


def test_demo_starts_the_longest_notebook_first(tmp_path):
    """Two kernels finish together when the longest starts first: by the last run's seconds, else by size."""
    from autograder.assignments import registered, solution_notebook
    from autograder.demo import longest_first

    ids = [a.id for a in registered()][:3]
    assert longest_first(ids, {ids[0]: 300, ids[1]: 100, ids[2]: 200}) == [ids[0], ids[2], ids[1]]
    smallest = min(registered()[:3], key=lambda a: solution_notebook(a).stat().st_size).id
    assert longest_first(ids, {})[-1] == smallest
