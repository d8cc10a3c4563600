"""The registry is the only list of assignments: no file outside it, the solution and release notebooks, the
checks modules and the examples names an assignment id."""
import subprocess

from fixtures import examples_for

from autograder.assignments import CHECK_MODULES, load_assignment, repo_root

ALLOWED = ("autograder/assignments.py", "solutions/", "notebooks/", "autograder/checks/", "tests/fixtures/",
           "tests/mutation/", "tests/online/", "tests/test_mutation_sample.py", "docs/")   # per-notebook oracles


def test_no_file_outside_the_registry_names_an_assignment_id():
    root = repo_root()
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    offenders = []
    for name in tracked.decode().split("\0"):
        if not name or name.startswith(ALLOWED) or not (root / name).is_file():
            continue
        text = (root / name).read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name}: {a}" for a in CHECK_MODULES if a in text]
    assert not offenders, "\n".join(offenders)


def test_every_registered_assignment_has_its_files():
    root = repo_root()
    for assignment_id, module in CHECK_MODULES.items():
        assert module.startswith("autograder.checks."), module
        assert (root / "solutions" / assignment_id).is_dir() and (root / "notebooks" / assignment_id).is_dir()
        assert (root / "tests" / "fixtures" / "examples" / assignment_id).is_dir()
        examples = examples_for(assignment_id)      # its fixture module: WRONG, ONE_BUG, VARIANTS
        assert set(examples.wrong) == set(load_assignment(assignment_id).functions) and examples.one_bug
