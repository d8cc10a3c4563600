"""Generate the example submissions in ``autograder/examples/<assignment>/`` from the solution notebook.

    python -m autograder.make_examples            # rewrite them (commit the result)
    python -m autograder.make_examples --check    # exit 1 if the committed ones are out of date

Every example is the student release (``notebooks/``) with its solution cells filled in:

- ``perfect``: the solution code; ``one_bug``: the solution with one bug in ``compute_saliency_maps``;
- ``wrong``: every function returns a plausible wrong answer (zeros of the right shape, the unchanged image, no
  update); ``unparseable``: a truncated file;
- ``hostile_<attack>``: ``wrong`` plus one attack (see ``ATTACKS``). None of them may score more than ``wrong``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .assignments import examples_dir, load_assignment, release_notebook, solution_notebook
from .examples_code import ATTACKS, ONE_BUG, WRONG

_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def fill(solution: str, body: str | None = None, prelude: str = "", after: str = "") -> str:
    """The solution cell with its ``### BEGIN/END SOLUTION`` region replaced by ``body`` (indented like the
    markers; ``None`` keeps the solution), ``prelude`` inserted at the start of the region, ``after`` appended."""
    def replace(match: re.Match) -> str:
        indent, code = match.group(1), match.group(2)
        new = code if body is None else "".join(f"{indent}{line}\n" if line else "\n"
                                                 for line in body.strip("\n").split("\n"))
        extra = "".join(f"{indent}{line}\n" for line in prelude.strip("\n").split("\n")) if prelude else ""
        return extra + new
    filled, count = _REGION.subn(replace, solution)
    if count != 1:
        raise ValueError(f"expected one ### BEGIN/END SOLUTION region, found {count} in:\n{solution}")
    return filled.rstrip("\n") + (f"\n\n\n{after.strip()}" if after else "")


def _notebook(release: dict, sources: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    nb = json.loads(json.dumps(release))
    nb["cells"] = [c for c in nb["cells"] if _grade_id(c) not in drop]
    for cell in nb["cells"]:
        if _grade_id(cell) in sources:
            cell["source"] = sources[_grade_id(cell)]
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def generate(assignment_id: str = "02_network_visualization") -> dict[str, str]:
    """``{file name: notebook text}`` of every example of ``assignment_id``."""
    assignment = load_assignment(assignment_id)
    solution = json.loads(solution_notebook(assignment).read_text())
    release = json.loads(release_notebook(assignment).read_text())
    solved = {_grade_id(c): _source(c) for c in solution["cells"]
              if c.get("metadata", {}).get("nbgrader", {}).get("solution") and _grade_id(c) in assignment.functions}
    perfect = {k: fill(v) for k, v in solved.items()}
    wrong = {k: fill(v, WRONG[k]) for k, v in solved.items()}
    examples = {
        "perfect.ipynb": _notebook(release, perfect),
        "one_bug.ipynb": _notebook(release, {**perfect, **{k: fill(solved[k], b) for k, b in ONE_BUG.items()}}),
        "wrong.ipynb": _notebook(release, wrong),
    }
    examples["unparseable.ipynb"] = examples["perfect.ipynb"][: len(examples["perfect.ipynb"]) // 2]
    for attack, spec in ATTACKS.items():
        sources = dict(wrong)
        for function, parts in spec.get("cells", {}).items():
            sources[function] = fill(solved[function], parts.get("body", WRONG[function]), parts.get("prelude", ""),
                                     parts.get("after", ""))
        examples[f"hostile_{attack}.ipynb"] = _notebook(release, sources, tuple(spec.get("drop", ())))
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.make_examples", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed examples are current")
    parser.add_argument("--assignment", default="02_network_visualization")
    args = parser.parse_args(argv)
    folder = examples_dir(load_assignment(args.assignment))
    examples = generate(args.assignment)
    stale = [n for n, text in examples.items() if not (folder / n).is_file() or (folder / n).read_text() != text]
    extra = sorted(p.name for p in folder.glob("*.ipynb") if p.name not in examples) if folder.is_dir() else []
    if args.check:
        for name in stale + extra:
            print(f"out of date: {folder / name}")
        return 1 if stale or extra else 0
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in examples.items():
        (folder / name).write_text(text)
    for name in extra:
        (folder / name).unlink()
    print(f"wrote {len(examples)} examples to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
