"""Grading the example submissions: honest scores, hostile ones never above `wrong`, clear messages."""
from pathlib import Path

import pytest

from autograder.assignments import examples_dir
from autograder.sandbox import isolation

from autograder_helpers import needs_namespaces

# What each hostile example's feedback must say (somewhere in its check messages or notes).
HOSTILE_MESSAGES = {
    "infinite_loop": "did not finish within the time limit",
    "memory_bomb": "MemoryError",
    "os_exit": "ended the process (exit code 0)",
    "patched_allclose": "differs from the reference",
    "patched_builtins": "cell `compute_saliency_maps`",
    "fake_pytest_output": "differs from the reference",
    "reads_solutions": "differs from the reference",
    "writes_outputs": "differs from the reference",
    "deletes_function": "`make_fooling_image` is not defined",
    "nan_output": "NaN or infinite",
    "wrong_shape": "expected shape (4, 128, 128), got (4, 3, 128, 128)",
    "wrong_device": "device 'meta'",
    "prints_megabytes": "differs from the reference",
    "background_process": "differs from the reference",
    "network": "differs from the reference",
    "forges_results": "garbled the grader's result channel",
}


def text(result):
    return "\n".join([c.message for c in result.checks] + result.notes)


def test_every_example_is_graded_with_the_csv_columns_of_the_issue(example_batch, assignment):
    """One CSV row per example; columns student, assignment, one per check, total, max."""
    lines = example_batch.csv.splitlines()
    assert lines[0] == ",".join(["student", "assignment", *(c.name for c in assignment.checks), "total", "max"])
    expected = sorted(p.stem for p in examples_dir(assignment).glob("*.ipynb")
                      if isolation() != "none" or not p.stem.startswith("hostile_"))
    assert [line.split(",")[0] for line in lines[1:]] == expected
    assert all(line.split(",")[-1] == "9" for line in lines[1:])


def test_perfect_gets_every_point(example_batch):
    result = example_batch.results["perfect"]
    assert result.total == result.max == 9, text(result)


def test_one_bug_gets_partial_credit_and_is_told_what(example_batch):
    result = example_batch.results["one_bug"]
    assert result.total == 6, text(result)
    failed = [c for c in result.checks if not c.passed]
    assert {c.function for c in failed} == {"compute_saliency_maps"}
    assert all("differs from the reference" in c.message for c in failed)


def test_wrong_and_unparseable_get_zero(example_batch):
    assert example_batch.results["wrong"].total == 0
    unparseable = example_batch.results["unparseable"]
    assert unparseable.total == 0 and "not a valid notebook" in text(unparseable)


def test_examples_cover_the_attacks_of_the_issue(assignment):
    """At least the ten attacks the issue lists, each tested below."""
    names = {p.stem[len("hostile_"):] for p in examples_dir(assignment).glob("hostile_*.ipynb")}
    assert names == set(HOSTILE_MESSAGES) and len(names) >= 10


@needs_namespaces
@pytest.mark.parametrize("attack", sorted(HOSTILE_MESSAGES))
def test_hostile_example_scores_exactly_what_wrong_scores(example_batch, attack):
    """No attack raises the score above the honest wrong answers it is built on; the message says what happened."""
    wrong, result = example_batch.results["wrong"], example_batch.results[f"hostile_{attack}"]
    assert [c.points for c in result.checks] == [c.points for c in wrong.checks], text(result)
    assert HOSTILE_MESSAGES[attack] in text(result), text(result)


@needs_namespaces
def test_output_flood_is_cut_but_counted(example_batch):
    result = example_batch.results["hostile_prints_megabytes"]
    assert result.output_bytes > 20_000_000 and len(result.output_tail) <= 8192


@needs_namespaces
def test_the_solution_thief_found_nothing(example_batch):
    """hostile_reads_solutions searched the file system for solution notebooks and reference outputs."""
    assert "files found: 0" in example_batch.results["hostile_reads_solutions"].output_tail


@needs_namespaces
def test_the_vandal_wrote_nothing_outside_its_sandbox(example_batch):
    """hostile_writes_outputs appended to every CSV/HTML/result it could find and dropped files: none reached the
    grade table, another student's feedback or result, the repository or the host's /tmp."""
    from autograder.assignments import repo_root

    marker = "hostile_writes_outputs,02_network_visualization,9"
    assert marker not in example_batch.csv
    for path in (example_batch.out / "feedback").rglob("*"):
        if path.is_file():
            assert marker not in path.read_text(errors="replace"), path
    assert not list(example_batch.out.rglob("PWNED-by-hostile-submission.txt"))
    for folder in (repo_root(), Path.home(), Path("/tmp"), Path("/work")):
        assert not (folder / "PWNED-by-hostile-submission.txt").exists(), folder


@needs_namespaces
def test_nothing_the_submission_started_survives(example_batch):
    """hostile_background_process started `sleep 313`; the pid namespace took it down with the child."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert cmdline != b"sleep\x00313\x00", f"process {proc.name} survived"


@needs_namespaces
def test_no_network_from_the_sandbox(example_batch):
    """hostile_network tried to send to a server listening on this machine's localhost."""
    assert example_batch.leaked == []
    assert "no network" in example_batch.results["hostile_network"].output_tail
