"""Grading every registered assignment's example submissions: honest scores, variants as their checks module
says, hostile ones never above the `one_bug` example they are built on, clear messages."""
from pathlib import Path

import pytest

from autograder.assignments import registered, repo_root
from fixtures import examples_dir, examples_for
from fixtures.attacks import INFRASTRUCTURE_ATTACKS, NO_WORK_ATTACKS, OUTPUT_ATTACKS, SANDBOX_ONLY_ATTACKS

from autograder_helpers import INFRASTRUCTURE_ASSIGNMENT, TEST_LIMITS, needs_namespaces, suite_examples

ASSIGNMENTS = registered()
IDS = [a.id for a in ASSIGNMENTS]
# Each infrastructure attack on every assignment, except the sandbox-only ones: on the infrastructure tests'
# assignment only (their outcome cannot depend on the assignment; see `suite_examples`).
INFRASTRUCTURE_CASES = [pytest.param(target, attack, id=f"{target.id}-{attack}")
                        for target in ASSIGNMENTS for attack in sorted(INFRASTRUCTURE_ATTACKS)
                        if attack not in SANDBOX_ONLY_ATTACKS or target.id == INFRASTRUCTURE_ASSIGNMENT.id]

# What each infrastructure attack's feedback must say (somewhere in its check messages, notes or output), any
# assignment. The others must only gain nothing.
INFRASTRUCTURE_MESSAGES = {
    "infinite_loop": "did not finish within the time limit",
    "holds_pipes": "did not finish within the time limit",
    "outlives_turn": "did not finish within the time limit",
    "hangs_every_cell": "did not finish within the time limit",
    "memory_bomb": "MemoryError",
    "shared_memory_bomb": "ran out of memory",
    "os_exit": "ended the process (exit code 0)",
    "forged_step_then_exit": "ended the process (exit code 3)",
    "deletes_function": "is not defined",
    "forges_results": "garbled the grader's result channel",
    "surrogate_text": "broken text",
    "forged_message_types": "could not be read",
    "poisons_reference_cache": "reference files poisoned: 0",
    "keyring_message": "keyring messages found: none",
    "home_leftover": "leftover files found: none",
}
# Deadline and start-up of the bound on a whole batch (TEST_LIMITS' deadline per submission, 2 workers).
BATCH_START_UP_S = 240


def text(result):
    return "\n".join([c.message for c in result.checks] + result.notes + [result.output_tail])


def points(result):
    return {c.name: c.points for c in result.checks}


@pytest.fixture(params=ASSIGNMENTS, ids=IDS)
def graded(request, example_batches):
    """(assignment, its graded example batch)."""
    return request.param, example_batches(request.param)


def test_every_example_is_graded_with_the_csv_columns(graded):
    """One CSV row per example; columns student, assignment, one per check, total, max."""
    assignment, batch = graded
    lines = batch.csv.splitlines()
    assert lines[0] == ",".join(["student", "assignment", *(c.name for c in assignment.checks), "total", "max"])
    assert [line.split(",")[0] for line in lines[1:]] == suite_examples(assignment)
    assert all(float(line.split(",")[-1]) == assignment.max_points for line in lines[1:])


@pytest.mark.parametrize("example", ["perfect", "slow_perfect"])
def test_perfect_and_slow_but_honest_get_every_point(graded, example):
    assignment, batch = graded
    result = batch.results[example]
    assert result.total == result.max == assignment.max_points > 0, text(result)


@needs_namespaces
def test_the_batch_of_every_attack_finishes_in_time_and_leaves_no_process(graded):
    """Every hostile example next to honest ones, 2 workers: one row each (checked above) and the whole batch
    within (submissions / workers) x deadline + start-up; no process of a sandbox uid outlives it."""
    from autograder.sandbox.parent import given_uids, processes_of

    _, batch = graded
    bound = -(-batch.submissions // 2) * TEST_LIMITS.timeout_s + BATCH_START_UP_S
    assert batch.elapsed <= bound, f"{batch.submissions} submissions took {batch.elapsed:.0f} s (bound {bound:.0f} s)"
    assert processes_of(given_uids()) == []


def test_one_bug_gets_partial_credit_and_is_told_what(graded):
    """`one_bug` loses points exactly on the checks of its buggy functions, each with a message."""
    assignment, batch = graded
    result = batch.results["one_bug"]
    assert 0 < result.total < result.max, text(result)
    failed = [c for c in result.checks if not c.passed]
    assert {c.function for c in failed} <= set(examples_for(assignment.id).one_bug), text(result)
    assert all(len(c.message) > 20 for c in failed)


def test_wrong_and_unparseable_get_zero(graded):
    _, batch = graded
    assert batch.results["wrong"].total == 0, text(batch.results["wrong"])
    unparseable = batch.results["unparseable"]
    assert unparseable.total == 0 and "not a valid notebook" in text(unparseable)


def test_variants_score_as_their_checks_module_says(graded):
    """Known-correct ways of writing a function keep full marks; known-wrong ones lose exactly the named checks."""
    assignment, batch = graded
    for name, variant in examples_for(assignment.id).variants.items():
        result = batch.results[f"variant_{name}"]
        lost = {c.name for c in result.checks if not c.passed}
        assert lost == set(variant.loses), f"variant {name} ({variant.note}): lost {sorted(lost)}, expected " \
                                           f"{sorted(variant.loses)}\n{text(result)}"


def test_examples_cover_the_attack_library(graded):
    assignment, _ = graded
    names = {p.stem[len("hostile_"):] for p in examples_dir(assignment).glob("hostile_*.ipynb")}
    assert names == set(INFRASTRUCTURE_ATTACKS) | set(OUTPUT_ATTACKS)


@needs_namespaces
@pytest.mark.parametrize("target, attack", INFRASTRUCTURE_CASES)
def test_infrastructure_attack_gains_nothing(target, attack, example_batches):
    """No attack raises any check above the honest `one_bug` submission it is built on."""
    batch = example_batches(target)
    base, result = points(batch.results["one_bug"]), batch.results[f"hostile_{attack}"]
    raised = {name: p for name, p in points(result).items() if p > base[name]}
    assert not raised, f"hostile_{attack} gained {raised}\n{text(result)}"
    if attack in INFRASTRUCTURE_MESSAGES:
        assert INFRASTRUCTURE_MESSAGES[attack] in text(result), text(result)


@needs_namespaces
@pytest.mark.parametrize("attack", sorted(OUTPUT_ATTACKS))
def test_output_attack_fails_every_check_but_side_effects(graded, attack):
    """NaN, inf, huge values, the input echoed, a lying tensor subclass, an extra dimension or a
    meta tensor in place of every output: every check that is not a side-effect check fails."""
    assignment, batch = graded
    result = batch.results[f"hostile_{attack}"]
    side_effects = {c.name for c in assignment.checks if c.side_effect}
    passed = [c.name for c in result.checks if c.points > 0 and c.name not in side_effects]
    assert not passed, f"hostile_{attack} passed {passed}\n{text(result)}"
    if attack in NO_WORK_ATTACKS:
        # issue 18, class 5: an answer that does no work (the input echoed +- epsilon, a constant, seeded noise)
        # earns nothing, not even for leaving its input alone or raising on bad input
        assert result.total == 0, f"hostile_{attack} scored {result.total}: {points(result)}\n{text(result)}"


@needs_namespaces
def test_output_flood_is_cut_but_counted(example_batch):
    batch = example_batch
    result = batch.results["hostile_prints_megabytes"]
    assert result.output_bytes > 20_000_000 and len(result.output_tail) <= 8192


@needs_namespaces
def test_the_solution_thief_found_nothing(graded):
    """hostile_reads_solutions searched the file system for solution notebooks and reference outputs."""
    _, batch = graded
    assert "files found: 0" in batch.results["hostile_reads_solutions"].output_tail


@needs_namespaces
def test_the_answer_thief_scores_what_the_untouched_release_scores(graded):
    """hostile_steals_answers writes no answer: every cell searches sys.modules, the importable grader and test
    packages and the garbage collector for example bodies, solution cells and reference arrays, and runs what it
    finds (before issue 16 it took 12/12 on notebook 01 this way). The grader's runtime holds none."""
    _, batch = graded
    thief, release = batch.results["hostile_steals_answers"], batch.results["release"]
    assert points(thief) == points(release) and thief.total == release.total, text(thief)
    assert release.total == 0, text(release)


@needs_namespaces
def test_the_vandal_wrote_nothing_outside_its_sandbox(graded):
    """hostile_writes_outputs appended to every CSV/HTML/result it could find and dropped files: none reached the
    grade table, another student's feedback or result, the repository or the host's /tmp."""
    assignment, batch = graded
    marker = f"hostile_writes_outputs,{assignment.id},{assignment.max_points:g}"
    assert marker not in batch.csv
    for path in (batch.out / "feedback").rglob("*"):
        if path.is_file():
            assert marker not in path.read_text(errors="replace"), path
    assert not list(batch.out.rglob("PWNED-by-hostile-submission.txt"))
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
    batch = example_batch
    assert batch.leaked == []
    assert "no network" in batch.results["hostile_network"].output_tail
