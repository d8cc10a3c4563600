"""Generate the example submissions in ``autograder/examples/<assignment>/`` from the solution notebook.

    python -m autograder.examples                     # rewrite the examples of every registered assignment
    python -m autograder.examples --assignment ID     # one assignment
    python -m autograder.examples --check             # exit 1 if the committed ones are out of date

Every example is the student release (``notebooks/``) with its solution cells filled in from the assignment's
checks module (``wrong``, ``one_bug`` and ``variants`` of its :class:`~autograder.check.Assignment`):

- ``perfect``: the solution code; ``slow_perfect``: the same, each of its cells sleeping 0.5 s (slow but honest:
  full marks); ``wrong``: every function with its ``wrong`` body; ``unparseable``: a truncated file;
  ``one_bug``: the solution with the ``one_bug`` bodies;
- ``variant_<name>``: the solution with a :class:`~autograder.check.Variant`'s bodies (known-correct and
  known-wrong ways of writing a function, with the checks each must lose);
- ``hostile_<attack>``: ``one_bug`` plus one attack from the generic library (:mod:`.attacks`), the same for
  every assignment. None may score more than ``one_bug``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys

from ..assignments import CHECK_MODULES, examples_dir, load_assignment, release_notebook, solution_notebook
from ..check import Assignment
from .attacks import ATTACKS, Attack

_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _indented(text: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" if line else "\n" for line in text.strip("\n").split("\n"))


def fill(solution: str, body: str | tuple[str, ...] | None = None, prelude: str = "", after: str = "") -> str:
    """The solution cell with its ``### BEGIN/END SOLUTION`` regions replaced.

    ``body``: ``None`` keeps the solution; a string replaces the cell's only region; a tuple replaces its regions
    in order (one string per region). Each is indented like the markers. ``prelude`` is inserted at the start of
    the first region, ``after`` appended at the cell's top level."""
    regions = len(_REGION.findall(solution))
    bodies = (None,) * regions if body is None else (body,) if isinstance(body, str) else tuple(body)
    if regions == 0 or len(bodies) != regions:
        raise ValueError(f"expected {len(bodies)} ### BEGIN/END SOLUTION region(s), found {regions} in:\n{solution}")
    count = iter(range(regions))

    def replace(match: re.Match) -> str:
        i = next(count)
        indent, code = match.group(1), match.group(2)
        new = code if bodies[i] is None else _indented(bodies[i], indent)
        return (_indented(prelude, indent) if prelude and i == 0 else "") + new
    filled = _REGION.sub(replace, solution)
    return filled.rstrip("\n") + (f"\n\n\n{after.strip()}" if after else "")


#: Appended to every solution cell of ``slow_perfect``: an honest solution that is slow (the grader's deadline is per
#: submission, so it must still get every point, next to hostile neighbours).
SLOW_CELL = "import time\n\ntime.sleep(0.5)  # slow, but honest"


def _notebook(release: dict, sources: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    nb = json.loads(json.dumps(release))
    nb["cells"] = [c for c in nb["cells"] if _grade_id(c) not in drop]
    for cell in nb["cells"]:
        if _grade_id(cell) in sources:
            cell["source"] = sources[_grade_id(cell)]
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _solution_cells(assignment: Assignment) -> dict[str, str]:
    """``{function: its solution cell's source}`` (the cell whose grade_id is the function's name)."""
    solution = json.loads(solution_notebook(assignment).read_text())
    solved = {_grade_id(c): _source(c) for c in solution["cells"]
              if c.get("metadata", {}).get("nbgrader", {}).get("solution") and _grade_id(c) in assignment.functions}
    missing = [f for f in assignment.functions if f not in solved]
    if missing:
        raise ValueError(f"{assignment.id}: no solution cell with grade_id {missing} in {solution_notebook(assignment)}")
    return solved


def _notebook_order(release: dict, functions: tuple[str, ...]) -> tuple[str, ...]:
    """``functions`` in the order their cells appear in the notebook."""
    position = {_grade_id(c): i for i, c in enumerate(release["cells"])}
    return tuple(sorted(functions, key=lambda f: position.get(f, len(position))))


def _apply_attack(attack: Attack, assignment: Assignment, solved: dict[str, str], base: dict[str, str],
                  release: dict) -> str:
    """The ``base`` sources with ``attack`` applied (its roles resolved to this assignment's functions)."""
    functions = _notebook_order(release, assignment.functions)
    sources = dict(base)
    for role, template in attack.prelude.items():
        for function in attack.resolve(role, functions):
            body = assignment.one_bug.get(function)
            sources[function] = fill(solved[function], body, prelude=attack.render(template, assignment, functions))
    for role, template in attack.after.items():
        for function in attack.resolve(role, functions):
            sources[function] = sources[function] + "\n\n\n" + attack.render(template, assignment, functions).strip()
    drop = tuple(f for role in attack.drop for f in attack.resolve(role, functions))
    return _notebook(release, sources, drop)


def generate(assignment_id: str) -> dict[str, str]:
    """``{file name: notebook text}`` of every example of ``assignment_id``."""
    assignment = load_assignment(assignment_id)
    release = json.loads(release_notebook(assignment).read_text())
    solved = _solution_cells(assignment)
    unknown = [f for f in (*assignment.wrong, *assignment.one_bug) if f not in assignment.functions]
    if unknown or set(assignment.wrong) != set(assignment.functions) or not assignment.one_bug:
        raise ValueError(f"{assignment_id}: `wrong` needs a body for every function {assignment.functions}, "
                         f"`one_bug` at least one; unknown names: {unknown}")
    perfect = {k: fill(v) for k, v in solved.items()}
    one_bug = {**perfect, **{k: fill(solved[k], b) for k, b in assignment.one_bug.items()}}
    examples = {
        "perfect.ipynb": _notebook(release, perfect),
        "one_bug.ipynb": _notebook(release, one_bug),
        "wrong.ipynb": _notebook(release, {k: fill(v, assignment.wrong[k]) for k, v in solved.items()}),
    }
    examples["unparseable.ipynb"] = examples["perfect.ipynb"][: len(examples["perfect.ipynb"]) // 2]
    examples["slow_perfect.ipynb"] = _notebook(release, {k: fill(v, after=SLOW_CELL) for k, v in solved.items()})
    for name, variant in assignment.variants.items():
        examples[f"variant_{name}.ipynb"] = _notebook(
            release, {**perfect, **{k: fill(solved[k], b) for k, b in variant.bodies.items()}})
    for name, attack in ATTACKS.items():
        examples[f"hostile_{name}.ipynb"] = _apply_attack(attack, assignment, solved, one_bug, release)
    return examples


def write(assignment_id: str, check: bool = False) -> list[str]:
    """Write (or with ``check``, only compare) the examples of ``assignment_id``; returns the stale file names."""
    folder = examples_dir(load_assignment(assignment_id))
    examples = generate(assignment_id)
    stale = [n for n, text in examples.items() if not (folder / n).is_file() or (folder / n).read_text() != text]
    extra = sorted(p.name for p in folder.glob("*.ipynb") if p.name not in examples) if folder.is_dir() else []
    if not check:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in examples.items():
            (folder / name).write_text(text)
        for name in extra:
            (folder / name).unlink()
    return stale + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.examples", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed examples are current")
    parser.add_argument("--assignment", action="append", help="an assignment id (default: every registered one)")
    args = parser.parse_args(argv)
    status = 0
    for assignment_id in args.assignment or list(CHECK_MODULES):
        changed = write(assignment_id, args.check)
        if args.check:
            for name in changed:
                print(f"out of date: {assignment_id}/{name}")
            status |= bool(changed)
        else:
            print(f"{assignment_id}: wrote the examples to {examples_dir(load_assignment(assignment_id))} "
                  f"({len(changed)} changed)")
    return status


if __name__ == "__main__":
    sys.exit(main())
