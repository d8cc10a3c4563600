"""No answer is reachable from what a student installs, opens or imports from graded code (issue 16).

An oracle that shares no code with what it checks: it reads the answers straight from their sources (the solution
notebooks' ``### BEGIN/END SOLUTION`` regions and hidden tests, the fixtures' full-mark bodies, the quiz keys) and
looks for them, line by line, in

1. the student course that ``python -m autograder release`` writes, and its wheel;
2. every file of this repository that the sandbox binds into the jail;
3. every module of this repository that the grader's runtime imports (sandboxed child, nbgrader hidden cells,
   the CI and pytest front ends);

and a generic attack (``hostile_steals_answers``: every cell searches ``sys.modules``, the importable grader and
test packages and the garbage collector for answers) finds nothing in a process that imported the grader's runtime.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.assignments import registered, repo_root, solution_notebook
from fixtures import examples_dir, examples_for

ROOT = repo_root()
MIN_LINE = 24          # shorter normalised lines (``x = x.detach()``) are common to any torch code: not evidence
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _normal(line: str) -> str:
    return " ".join(line.split())


def _code_lines(text: str) -> set[str]:
    """Normalised lines of real code: long enough to be evidence, not comments or docstring prose."""
    lines = set()
    for line in text.splitlines():
        norm = _normal(line)
        if len(norm) >= MIN_LINE and not norm.startswith(("#", '"', "'")) and any(c in norm for c in "(=["):
            lines.add(norm)
    return lines


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _quiz_key(region: str) -> dict[str, str] | None:
    """``{question: answer}`` when ``region`` assigns a quiz dict (``ANSWERS = {1: "acd", ...}``)."""
    try:
        tree = ast.parse(region)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if value and all(isinstance(v, (str, set, frozenset, list, tuple)) for v in value.values()):
                return {str(k): "".join(sorted(v)) for k, v in value.items()}
    return None


def answers() -> dict[str, object]:
    """Everything that would give an answer away, read from the sources: solution lines, hidden-test lines,
    full-mark example lines and quiz keys. Lines that some solution notebook also shows outside its regions (in a
    visible cell, given to every student) are not secret and are left out."""
    public, secret, hidden, example_lines, keys = set(), set(), set(), set(), []
    for assignment in registered():
        for cell in _cells(solution_notebook(assignment)):
            text = _source(cell)
            for region in REGION.findall(text):
                secret |= _code_lines(region)
                key = _quiz_key(region)
                if key:
                    keys.append((assignment.id, key))
            for region in HIDDEN.findall(text):
                hidden |= _code_lines(region)
            public |= _code_lines(HIDDEN.sub("", REGION.sub("", text)))
        for variant in examples_for(assignment.id).variants.values():
            if not variant.loses:
                for body in variant.bodies.values():
                    example_lines |= _code_lines(body)
    return {"solution": secret - public, "hidden test": hidden - public, "full-mark example": example_lines - public,
            "quiz keys": keys}


def _key_found(text: str, key: dict[str, str]) -> bool:
    """Half or more of a quiz key's (question, answer) pairs written as a mapping in ``text``."""
    hits = sum(bool(re.search(rf"[\"']?\b{re.escape(q)}\b[\"']?\s*:\s*[\"'{{\[(]\s*[\"']?{re.escape(a)}\b", text))
               for q, a in key.items() if len(a) > 0)
    return hits * 2 >= len(key) and len(key) >= 4


def leaks_in(files: dict[str, str], material: dict[str, object]) -> list[str]:
    """``"<file>: <kind>: <line>"`` for every answer found in ``files`` (name -> text)."""
    found = []
    for name, text in files.items():
        lines = {_normal(line) for line in text.splitlines()}
        for kind in ("solution", "hidden test", "full-mark example"):
            for line in sorted(material[kind] & lines):
                found.append(f"{name}: {kind}: {line}")
        for assignment_id, key in material["quiz keys"]:
            if _key_found(text, key):
                found.append(f"{name}: quiz key of {assignment_id}")
    return found


def _text_files(root: Path) -> dict[str, str]:
    """Every file under ``root`` as text (notebooks: their cells' sources and text outputs)."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                for member in wheel.namelist():
                    files[f"{path.name}!{member}"] = wheel.read(member).decode("utf-8", "replace")
            continue
        raw = path.read_bytes()
        text = raw.decode("utf-8", "replace")
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text = "\n".join(_source(c) + "\n" + "".join("".join(o.get("text", "")) for o in c.get("outputs", []))
                             for c in cells)
        files[str(path.relative_to(root))] = text
    return files


@pytest.fixture(scope="module")
def material():
    found = answers()
    assert len(found["solution"]) > 50 and found["hidden test"] and found["full-mark example"]
    assert len(found["quiz keys"]) >= 2, "the quiz keys of notebooks 04 and 05 are read from the solutions"
    return found


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "course"
    subprocess.run([sys.executable, "-m", "autograder", "release", str(out), "--wheel"], check=True, cwd=ROOT,
                   capture_output=True)
    return out


def test_the_student_course_holds_hwlib_notebooks_weights_and_nothing_else(release):
    top = sorted(p.name for p in release.iterdir())
    assert top == [".gitignore", "README.md", "data", "dist", "hwlib", "notebooks", "pyproject.toml"], top
    assert sorted(p.parent.name for p in (release / "notebooks").glob("*/*.ipynb")) == \
        sorted(a.id for a in registered())
    (wheel,) = (release / "dist").glob("hwlib-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packages = {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
        assert packages == {"hwlib"}, packages
        assert {n for n in archive.namelist() if n.startswith("hwlib/data/")} >= {"hwlib/data/squeezenet1_1_synthetic.pt"}
    readme = (release / "README.md").read_text()
    assert "colab.research.google.com/github/" in readme and "solutions" not in readme


def test_the_student_course_and_its_wheel_hold_no_answer(release, material):
    leaks = leaks_in(_text_files(release), material)
    assert not leaks, "answers in the student course:\n" + "\n".join(leaks[:20])


def test_the_scanner_finds_one_solution_line_copied_into_hwlib(release, material, tmp_path):
    """The oracle can fail: one line of a solution region pasted into the released hwlib is found."""
    line = sorted(material["solution"])[len(material["solution"]) // 2]
    copy = tmp_path / "hwlib"
    copy.mkdir()
    (copy / "helpers.py").write_text((release / "hwlib" / "__init__.py").read_text() + f"\n\ndef _x():\n    {line}\n")
    leaks = leaks_in(_text_files(tmp_path), material)
    assert leaks and line in leaks[0]
    key_id, key = material["quiz keys"][0]
    (copy / "quiz.py").write_text("KEY = " + repr({int(q) if q.isdigit() else q: a for q, a in key.items()}))
    assert any(f"quiz key of {key_id}" in leak for leak in leaks_in(_text_files(tmp_path), material))


def _runtime_files() -> dict[str, str]:
    """The repository's files the sandbox binds, and the modules the grader's runtime imports (a fresh process
    imports the sandboxed child's modules, the nbgrader hidden-cell module, both CI front ends and every
    registered assignment)."""
    from autograder.sandbox.parent import jail_spec
    from autograder.sandbox_host import grader_host

    bound = set()
    interpreter = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}   # a .venv in ROOT
    for path in map(Path, jail_spec("/nonexistent-root", None, grader_host())["binds"]):
        real = path.resolve()
        if real in interpreter or not (real == ROOT or ROOT in real.parents):
            continue
        bound |= {path} if path.is_file() else {p for p in path.rglob("*") if p.is_file()}
    script = ("import sys, importlib\n"
              "for m in ('autograder.sandbox.launcher', 'autograder.sandbox.child', 'autograder.notebook_checks',\n"
              "          'autograder.pytest_plugin', 'autograder.ci', 'autograder.grade', 'autograder.batch'):\n"
              "    importlib.import_module(m)\n"
              "from autograder.assignments import registered\nregistered()\n"
              "print('\\n'.join(sorted(str(getattr(m, '__file__', '') or '') for m in list(sys.modules.values()))))")
    imported = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd="/",
                              env={"PATH": "/usr/bin:/bin", "HWLIB_NO_NETWORK": "1", "HWLIB_SOURCE": "offline"})
    modules = {Path(f) for f in imported.stdout.split() if f.startswith(str(ROOT))}
    assert not any("fixtures" in p.parts or p.parts[len(ROOT.parts)] == "tests" for p in modules), \
        "the grader's runtime imports the test fixtures"
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(bound | modules) if p.suffix in (".py", ".json", ".txt", ".cfg", ".toml", "")}


def test_nothing_the_sandbox_binds_or_the_runtime_imports_holds_an_answer(material):
    files = _runtime_files()
    assert any(name.startswith("autograder/checks/") for name in files), "the checks modules are bound"
    assert not any(name.startswith(("tests/", "solutions/")) for name in files), sorted(files)[:20]
    leaks = leaks_in(files, material)
    assert not leaks, "answers in the grader's runtime:\n" + "\n".join(leaks[:20])


def test_the_answer_stealing_submission_finds_nothing_in_the_graders_runtime(tmp_path):
    """Each cell of ``hostile_steals_answers`` (the generic attack) run in a process that imported everything the
    sandboxed child imports and every assignment: it steals nothing (the batch tests grade it: release score)."""
    assignment = registered()[0]
    cells = [_source(c) for c in _cells(examples_dir(assignment) / "hostile_steals_answers.ipynb")
             if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert cells and all("_steal_answers" in c for c in cells)
    script = tmp_path / "steal.py"
    script.write_text("import importlib, json, sys\n"
                      "for m in ('autograder.sandbox.child', 'autograder.grade'):\n"
                      "    importlib.import_module(m)\n"
                      "from autograder.assignments import registered\n"
                      f"registered()\nnamespace = {{}}\nfor cell in json.loads({json.dumps(json.dumps(cells))}):\n"
                      "    exec(cell, namespace)\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HWLIB_NO_NETWORK": "1", "HWLIB_SOURCE": "offline",
                              "PYTHONWARNINGS": "ignore"})
    stole = [line for line in run.stdout.splitlines() if ": stole " in line]
    assert len(stole) == len(assignment.functions), run.stdout + run.stderr
    assert all(line.endswith(": stole nothing") for line in stole), "\n".join(stole)


def test_the_wheel_installs_alone_and_hwlib_imports_without_the_grader(release, tmp_path):
    """The student wheel in a separate folder, on an interpreter that sees the course's dependencies but none of
    this repository (``-S``: no editable install): ``import hwlib`` and its offline weights work, and no grader
    or fixture module exists."""
    import site
    import sysconfig

    (wheel,) = (release / "dist").glob("hwlib-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    paths = [str(target), *site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    script = ("import sys; sys.path[:0] = %r\n"
              "import importlib.util as u, hwlib\n"
              "from hwlib.models.squeezenet import load_squeezenet\n"
              "assert hwlib.__file__.startswith(%r), hwlib.__file__\n"
              "missing = [m for m in ('autograder', 'fixtures', 'hwlib_training', 'hwlib.demo') if u.find_spec(m)]\n"
              "assert not missing, missing\n"
              "load_squeezenet('offline')\n"
              "print('ok', hwlib.__file__)") % (paths, str(target))
    run = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HWLIB_NO_NETWORK": "1", "HWLIB_SOURCE": "offline",
                              "HOME": str(tmp_path)})
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stdout + run.stderr
