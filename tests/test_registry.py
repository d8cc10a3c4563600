"""The registry is the only list of assignments: no file outside it, the solution and release notebooks, the
checks modules and the examples names an assignment id."""
import subprocess

from fixtures import examples_for

from autograder.assignments import CHECK_MODULES, load_assignment, repo_root

ALLOWED = ("autograder/assignments.py", "solutions/", "notebooks/", "autograder/checks/", "tests/fixtures/",
           "tests/mutation/", "tests/online/", "tests/test_mutation_sample.py", "docs/",   # per-notebook oracles
           "hwlib/assets.py", "tests/test_hwlib_layout.py")   # what each notebook downloads (student side: no registry)


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


def test_every_notebook_has_one_checks_package_of_one_shape():
    """``autograder/checks/<topic>/``: ``__init__`` (the Assignment), ``context.py``, ``probes.py`` (untrusted side),
    ``verdicts.py`` and optionally ``verdicts_<function>.py`` (trusted side), nothing else; the shared mechanics in
    ``checks/_kit.py`` and the quiz in ``checks/quiz.py`` are the only other modules of ``checks/``."""
    checks = repo_root() / "autograder" / "checks"
    packages = set()
    for assignment_id, module in CHECK_MODULES.items():
        folder = checks / module.rsplit(".", 1)[1]
        packages.add(folder.name)
        assert (folder / "__init__.py").is_file(), f"{module} is not a package"
        files = {p.name for p in folder.glob("*.py")}
        assert {"__init__.py", "context.py", "probes.py", "verdicts.py"} <= files, (module, sorted(files))
        functions = {f.lower() for f in load_assignment(assignment_id).functions}
        for name in files - {"__init__.py", "context.py", "probes.py", "verdicts.py"}:
            assert name.startswith("verdicts_"), (module, name)
            function = name[len("verdicts_"):-len(".py")].replace("_", "")
            assert function in {f.replace("_", "") for f in functions}, (module, name)
    assert {p.name for p in checks.glob("*.py")} == {"__init__.py", "_kit.py", "quiz.py"}
    assert {p.name for p in checks.iterdir() if p.is_dir() and p.name != "__pycache__"} == packages
