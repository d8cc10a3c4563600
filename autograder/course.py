"""The cells of every solution notebook that are written, not authored: the course-wide first cells (from
``course.cfg``, the one file instructors edit) and the hidden-test cells (from the registry).

    python -m autograder sync               # rewrite those cells, nbgrader generate_assignment, the examples
    python -m autograder sync --no-release  # rewrite the cells only
    python -m autograder sync --check       # exit 1 when a solution notebook is out of date (writes nothing)

(``python -m autograder.course sync`` is the same command.)

Every solution notebook has a locked ``parameters`` cell (exactly :data:`PARAMETERS`, with the course's pip spec)
and a locked ``setup`` cell that starts with :data:`INSTALL` (install hwlib on Colab when it is missing) and then
calls :func:`hwlib.setup_notebook` with the notebook's own arguments. ``make notebooks`` runs ``sync`` before
nbgrader generates the student release, so every released notebook installs from the same place.

Its hidden-test cells (nbgrader's autograded test cells: ``grade`` true, ``solution`` false) are one per check of
the registry, each worth that check's points (nbgrader scores a cell all or nothing, so one check per cell gives
the fast grader's partial credit), with the source of :func:`hidden_cell_source`. A check keeps the ``grade_id`` and
cell id of the cell that runs it today (nbgrader's gradebook keys grades on ``grade_id``, and refuses to regenerate
an assignment with submissions whose set of grade cells changed); a new check gets ``test_<check name>`` and a
cell id derived from it. A function's cells stand together where its first hidden cell stood (a new function's:
right after the cell that defines it).
"""
from __future__ import annotations

import argparse
import ast
import configparser
import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from .assignments import registered, repo_root, solution_notebook
from .check import Assignment, Check
from .extract import defines, strip_magics

PARAMETERS = '''\
# Parameters. Automated runs set HWLIB_SOURCE=offline and HWLIB_QUICK=1 (smaller sizes, same code path).
import os

SOURCE = os.environ.get("HWLIB_SOURCE", "auto")  # "auto" (online if possible), "online" or "offline"
QUICK = os.environ.get("HWLIB_QUICK", "0") == "1"
# Where Colab installs the course package from (set once for the whole course in course.cfg).
HWLIB_PIP_SPEC = os.environ.get("HWLIB_PIP_SPEC", {pip_spec!r})'''

INSTALL = '''\
try:
    import hwlib
except ImportError:  # first run on Colab: install the course package (about a minute)
    %pip install --quiet "$HWLIB_PIP_SPEC"
    import hwlib
'''


def course_config(path: Path | None = None) -> dict[str, str]:
    """The ``[course]`` section of ``course.cfg`` (raises ``ValueError`` naming what is missing)."""
    path = path or repo_root() / "course.cfg"
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path, encoding="utf-8") or not parser.has_section("course"):
        raise ValueError(f"{path}: expected a [course] section with pip_spec = <pip requirement>.")
    config = dict(parser["course"])
    if not config.get("pip_spec", "").strip():
        raise ValueError(f"{path}: [course] pip_spec is empty; set it to where students install hwlib from.")
    return config


def parameters_cell(config: dict[str, str]) -> str:
    return PARAMETERS.format(pip_spec=config["pip_spec"].strip())


def _cell(nb: dict, grade_id: str) -> dict:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise ValueError(f"no cell with grade_id {grade_id!r}")


def synced(nb, config: dict[str, str], assignment: Assignment | None = None):
    """A copy of notebook ``nb`` (an nbformat node) whose ``parameters`` and ``setup`` cells follow the course's
    templates, and (given its ``assignment``) whose hidden-test cells are those the registry generates."""
    nb = copy.deepcopy(nb)
    _cell(nb, "parameters")["source"] = parameters_cell(config)
    setup = _cell(nb, "setup")
    source = setup["source"]
    marker = "    import hwlib\n"
    end = source.find(marker, source.find("%pip install"))
    rest = source[end + len(marker):] if end >= 0 else source
    if "setup_notebook(" not in rest:
        raise ValueError("the setup cell must call hwlib.setup_notebook(...) after the install lines")
    setup["source"] = INSTALL + rest
    return nb if assignment is None else with_hidden_cells(nb, assignment)


# ------------------------------------------------------------------------------------------- hidden-test cells
def _points(points: float) -> int | float:
    """nbgrader's ``points``: 2, not 2.0."""
    return int(points) if float(points).is_integer() else float(points)


def hidden_cell_source(assignment: Assignment, check: Check) -> str:
    """The source of ``check``'s hidden-test cell: a comment the release keeps (what is tested, for how many
    points), then the call nbgrader runs and removes from the release. It names the check; it holds no answer."""
    points = _points(check.points)
    what = " ".join(str(check.description).split())
    return (f"# Hidden test ({'side effect, ' if check.side_effect else ''}{points:g} point"
            f"{'' if points == 1 else 's'}): {what}\n"
            "### BEGIN HIDDEN TESTS\n"
            "from autograder.notebook_checks import run_hidden_checks\n"
            f'run_hidden_checks("{assignment.id}", "{check.function}", globals(), checks=("{check.name}",))\n'
            "### END HIDDEN TESTS")


def hidden_cell_metadata(grade_id: str, check: Check) -> dict:
    """The ``nbgrader`` metadata of a hidden-test cell (an autograded, locked test cell)."""
    return {"grade": True, "grade_id": grade_id, "locked": True, "points": _points(check.points),
            "schema_version": 3, "solution": False}


def is_hidden_cell(cell) -> bool:
    """An nbgrader autograded test cell (code, ``grade`` true, ``solution`` false)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def hidden_target(source: str, assignment_id: str) -> tuple[str, tuple[str, ...] | None] | None:
    """``(function, check names or None for all)`` that a hidden cell's grader call runs (``run_hidden_checks``,
    or the older one-cell quiz ``quiz_score``), else ``None``."""
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        name = getattr(node, "func", None)
        name = getattr(name, "id", getattr(name, "attr", None))
        if not isinstance(node, ast.Call) or name not in ("run_hidden_checks", "quiz_score") or len(node.args) < 2:
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args[:2]]
            checks = {k.arg: ast.literal_eval(k.value) for k in node.keywords}.get(
                "checks", ast.literal_eval(node.args[3]) if len(node.args) > 3 else None)
        except ValueError:
            continue
        if args[0] == assignment_id and isinstance(args[1], str):
            return args[1], None if checks is None else tuple(checks)
    return None


def _cell_id(assignment: Assignment, grade_id: str, taken: set[str]) -> str:
    """A new cell's id: from the assignment and its grade_id (the same every run), unique in the notebook."""
    for salt in range(1000):
        cell_id = hashlib.sha256(f"{assignment.id}/{grade_id}/{salt}".encode()).hexdigest()[:8]
        if cell_id not in taken:
            return cell_id
    raise RuntimeError("no free cell id")


def with_hidden_cells(nb, assignment: Assignment):
    """A copy of ``nb`` whose hidden-test cells are one per check of ``assignment``, generated from the registry
    (see the module docstring: ids kept, order, placement). Raises ``ValueError`` for a hidden cell that calls no
    grader function (sync would otherwise drop someone's test) or a function no cell defines."""
    import nbformat

    nb = copy.deepcopy(nb)
    by_function = {f: assignment.checks_for(f) for f in assignment.functions}
    known: dict[str, dict] = {}          # check name -> the cell that runs only that check today
    first: dict[int, str] = {}           # index of a function's first hidden cell -> the function
    for i, cell in enumerate(nb.cells):
        if not is_hidden_cell(cell):
            continue
        grade_id = cell.metadata["nbgrader"].get("grade_id")
        target = hidden_target(cell.source, assignment.id)
        if target is None:
            raise ValueError(f"{assignment.id}: hidden cell {grade_id!r} calls no run_hidden_checks(...) for this "
                             "assignment; delete it (sync writes every hidden cell from the registry)")
        function, names = target
        if function not in by_function:
            continue                     # a function the registry no longer has: its cells go
        if function not in first.values():
            first[i] = function
        names = names if names is not None else tuple(c.name for c in by_function[function])
        if len(names) == 1:
            known.setdefault(names[0], cell)
    taken = {c.get("id") for c in nb.cells if not is_hidden_cell(c)} | {c.get("id") for c in known.values()}
    grade_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells if not is_hidden_cell(c)}

    def block(function: str) -> list:
        cells = []
        for check in by_function[function]:
            old = known.get(check.name)
            grade_id = old.metadata["nbgrader"]["grade_id"] if old is not None else f"test_{check.name}"
            if grade_id in grade_ids:
                raise ValueError(f"{assignment.id}: two cells would have grade_id {grade_id!r}")
            grade_ids.add(grade_id)
            if old is not None:
                cell = copy.deepcopy(old)
                cell.source, cell.outputs, cell.execution_count = hidden_cell_source(assignment, check), [], None
            else:
                cell_id = _cell_id(assignment, grade_id, taken)
                taken.add(cell_id)
                cell = nbformat.v4.new_code_cell(hidden_cell_source(assignment, check), id=cell_id)
            cell.metadata["nbgrader"] = hidden_cell_metadata(grade_id, check)
            cells.append(cell)
        return cells

    out = []
    for i, cell in enumerate(nb.cells):
        if i in first:
            out += block(first[i])
        elif not is_hidden_cell(cell):
            out.append(cell)
    for function in assignment.functions:
        if function in first.values() or not by_function[function]:
            continue
        where = [i for i, c in enumerate(out) if c.cell_type == "code" and not is_hidden_cell(c)
                 and defines(c.source, function)]
        if not where:
            raise ValueError(f"{assignment.id}: no cell of {solution_notebook(assignment).name} defines "
                             f"{function!r}, so its hidden cells have no place")
        out[where[-1] + 1:where[-1] + 1] = block(function)
    nb.cells = out
    return nb


# ------------------------------------------------------------------------------------------------- commands
def sync(check: bool = False, assignments: list[Assignment] | None = None) -> list[Path]:
    """Bring every registered solution notebook's first cells in line with ``course.cfg`` and its hidden-test cells
    in line with the registry, and the data files of its checks package (``sync_data(check)``, where the package
    has one) up to date; the stale ones (with ``check``, only list them)."""
    import importlib

    import nbformat

    from .assignments import CHECK_MODULES

    config, stale = course_config(), []
    for assignment in assignments or registered():
        path = solution_notebook(assignment)
        nb = nbformat.read(path, as_version=4)
        new = synced(nb, config, assignment)
        if new != nb:
            stale.append(path)
            if not check:
                nbformat.write(new, path)
        # data files a checks package derives from the course's models (05: the probe sentences' hidden states)
        sync_data = getattr(importlib.import_module(CHECK_MODULES[assignment.id]), "sync_data", None)
        if sync_data is not None:
            stale += sync_data(check=check)
    return stale


def generate_release(assignment_id: str) -> None:
    """``nbgrader generate_assignment ID --force`` in ``autograder/`` (the student notebook in ``notebooks/``)."""
    bindir = Path(sys.executable).parent
    nbgrader = bindir / "nbgrader"
    if not nbgrader.exists():
        raise SystemExit(f"error: {nbgrader} not found: install the instructor extras (pip install -e "
                         "'.[instructor]'), or pass --no-release.")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(nbgrader), "generate_assignment", assignment_id, "--force"],
                            cwd=repo_root() / "autograder", env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"error: nbgrader generate_assignment {assignment_id} failed:\n"
                         f"{(result.stdout + result.stderr)[-3000:]}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="only report solution notebooks whose first or hidden cells are out of date (exit 1)")
    parser.add_argument("--no-release", action="store_true",
                        help="rewrite the cells only: no nbgrader generate_assignment, no examples")


def run(args: argparse.Namespace) -> int:
    """``sync``: the cells of every solution notebook, then (unless ``--no-release``) the student release of every
    assignment and the example submissions; ``--check`` only verifies the cells."""
    stale = sync(args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(repo_root())}")
    if args.check:
        if stale:
            print("run `python -m autograder sync` to rewrite them from course.cfg and the registry")
        return 1 if stale else 0
    if args.no_release:
        return 0
    import importlib

    from .instructor import fixtures

    for assignment in registered():
        generate_release(assignment.id)
        print(f"released: notebooks/{assignment.id}/{assignment.notebook}")
    return importlib.import_module(f"{fixtures().__name__}.generate").main([])


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.course sync ...``: the same as ``python -m autograder sync ...``."""
    parser = argparse.ArgumentParser(prog="python -m autograder.course", description=__doc__.splitlines()[0])
    parser.add_argument("verb", choices=("sync",))
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
