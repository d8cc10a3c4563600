"""reference.verdict_sources: the one list of files a verdict depends on, behind both the reference cache key and
the Dask workers' fingerprint; editing any of them (the quiz, the shared kit, a file of the checks package)
changes the cache key."""
from pathlib import Path

import pytest

from autograder.assignments import CHECK_MODULES, load_assignment, repo_root
from autograder.reference import cache_key, verdict_sources


def names(assignment_id):
    root = repo_root()
    return {p.relative_to(root).as_posix() for p in verdict_sources(assignment_id)}


@pytest.mark.parametrize("assignment_id", list(CHECK_MODULES))
def test_every_file_of_the_package_and_what_it_imports(assignment_id):
    found = names(assignment_id)
    package = repo_root() / "autograder" / "checks" / CHECK_MODULES[assignment_id].rsplit(".", 1)[1]
    assert {f"autograder/checks/{package.name}/{p.name}" for p in package.glob("*.py")} <= found
    assert {f"autograder/checks/{package.name}/{p.name}" for p in package.glob("*.npz")} <= found   # probe inputs
    assert {"autograder/checks/_kit.py", "autograder/checks/__init__.py", "autograder/check.py",
            "autograder/arrays.py", "autograder/runner.py", "autograder/extract.py"} <= found
    assert ("autograder/checks/quiz.py" in found) == ("ANSWERS" in load_assignment(assignment_id).functions)
    # neither other notebooks' checks nor the layers above the checks
    assert all(not n.startswith("autograder/checks/") or n.count("/") == 2 or f"/{package.name}/" in n
               for n in found)
    assert not {"autograder/notebook_checks.py", "autograder/reference.py", "autograder/grade.py"} & found


def package_dir(assignment_id):
    return repo_root() / "autograder" / "checks" / CHECK_MODULES[assignment_id].rsplit(".", 1)[1]


def edits():
    """Per assignment: the shared file its verdicts use (quiz.py where it has a quiz, else _kit.py) and the largest
    file of its package."""
    for assignment_id in CHECK_MODULES:
        shared = "quiz.py" if "ANSWERS" in load_assignment(assignment_id).functions else "_kit.py"
        yield assignment_id, repo_root() / "autograder" / "checks" / shared
        yield assignment_id, max(package_dir(assignment_id).glob("*.py"), key=lambda p: len(p.read_bytes()))


@pytest.mark.parametrize("assignment_id, edited", list(edits()))
def test_editing_a_verdict_source_changes_the_cache_key(monkeypatch, assignment_id, edited):
    assignment = load_assignment(assignment_id)
    before = cache_key(assignment)
    target = edited.resolve()
    read_bytes = Path.read_bytes

    def edited_read(path):
        data = read_bytes(path)
        return data + b"\n# edited\n" if Path(path).resolve() == target else data
    monkeypatch.setattr(Path, "read_bytes", edited_read)
    assert cache_key(assignment) != before


def test_the_dask_fingerprint_covers_the_verdict_sources():
    distributed = pytest.importorskip("autograder.distributed")
    quizzed = [a for a in CHECK_MODULES if "ANSWERS" in load_assignment(a).functions]
    for assignment_id in CHECK_MODULES:
        load_assignment(assignment_id)                  # every checks package loaded in this process
    assignment = load_assignment(quizzed[0])
    fingerprint = set(distributed.code_fingerprint(assignment))
    assert names(assignment.id) <= fingerprint and "autograder/checks/quiz.py" in fingerprint
    others = [package_dir(a).name for a in CHECK_MODULES if a != assignment.id]
    assert not any(name.startswith(f"autograder/checks/{o}/") for name in fingerprint for o in others)
