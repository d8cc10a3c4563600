"""``python -m autograder demo`` (``make demo``): the course working, offline, end to end.

1. executes the solution notebook of every registered assignment (``--only ID`` for one) headlessly in offline mode
   (no network) and writes the executed notebook as .ipynb and .html plus every figure as PNG under ``--out``
   (default ``outputs/demo/``);
2. grades the example submissions (``tests/fixtures/examples/``: perfect, slow but honest, one bug, wrong,
   unparseable, known variants, the generic hostile set) with the fast grader and prints one grade table per
   assignment.

``--no-notebooks`` / ``--no-grading`` skip a part. This is an instructor command: it needs a checkout of the course
repository (the solutions and the test fixtures).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .assignments import CHECK_MODULES, load_assignment, repo_root, solution_notebook


def table(results, assignment) -> str:
    """A fixed-width grade table: one row per submission, one column per check."""
    names = [c.name for c in assignment.checks]
    width = max([len(r.student) for r in results] + [10])
    head = f"{'submission':<{width}}  " + "  ".join(f"{n:>{max(len(n), 4)}}" for n in names) + "  total"
    rows = [head, "-" * len(head)]
    for r in results:
        points = {c.name: c.points for c in r.checks}
        rows.append(f"{r.student:<{width}}  " + "  ".join(f"{points[n]:>{max(len(n), 4)}g}" for n in names) +
                    f"  {r.total:g}/{r.max:g}")
    return "\n".join(rows)


def run_notebooks(assignments: list[str], out: Path, quick: bool) -> None:
    """Execute each assignment's solution notebook offline; write its outputs under ``out/<id>/``."""
    from .notebook_run import execute_notebook, printed_text, save_outputs

    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1" if quick else "0"}
    root = repo_root()
    for assignment_id in assignments:
        path = solution_notebook(load_assignment(assignment_id))
        start = time.perf_counter()
        print(f"\n== executing {path.relative_to(root) if path.is_relative_to(root) else path} ...", flush=True)
        nb = execute_notebook(path, env=env)
        files = save_outputs(nb, path.stem, out / assignment_id)
        print(printed_text(nb).rstrip())
        print(f"-- done in {time.perf_counter() - start:.0f} s; wrote:")
        for f in files:
            print(f"   {f}")


def grade_examples(assignments: list[str], out: Path, workers: int) -> None:
    """Grade every example submission of each assignment; print its grade table."""
    from .batch import find_submissions, grade_batch
    from .instructor import fixtures
    from .sandbox import Limits, isolation
    from .sandbox.device_shim import resolve_device

    examples_dir = fixtures().examples_dir
    threads = max(1, (os.cpu_count() or 1) // workers)
    for assignment_id in assignments:
        assignment = load_assignment(assignment_id)
        submissions = find_submissions([examples_dir(assignment)], assignment)
        if isolation() == "none":  # the hostile examples really attack: never without the sandbox
            submissions = [s for s in submissions if not s.student.startswith("hostile_")]
            print("no namespace isolation on this machine: skipping the hostile example submissions.")
        target = out / assignment_id
        results = grade_batch(submissions, assignment, target / "grades.csv", target / "feedback", workers,
                              Limits(timeout_s=10, memory_mb=3072, threads=threads), resolve_device("auto"), force=True,
                              log=lambda *_: None)
        print(f"\n{assignment_id}: example submissions graded by the fast autograder\n")
        print(table(results, assignment))
        print(f"\nCSV: {target / 'grades.csv'}\nfeedback pages: {target / 'feedback'}/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: outputs/demo)")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--only", action="append", metavar="ID", help="only this assignment (repeatable)")
    parser.add_argument("--quick", action="store_true", help="execute the notebooks with small sizes (HWLIB_QUICK=1)")
    parser.add_argument("--no-notebooks", action="store_true", help="do not execute the solution notebooks")
    parser.add_argument("--no-grading", action="store_true", help="do not grade the example submissions")


def run(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.only or ()) - set(CHECK_MODULES))
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(CHECK_MODULES)}")
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1.")
    assignments = [a for a in CHECK_MODULES if not args.only or a in args.only]
    out = (args.out or repo_root() / "outputs" / "demo").resolve()
    print(f"course demo: offline mode (no network), {len(assignments)} notebook(s): {', '.join(assignments)}")
    if not args.no_notebooks:
        run_notebooks(assignments, out, args.quick)
    if not args.no_grading:
        print("\n== grading the example submissions with the fast autograder ...", flush=True)
        grade_examples(assignments, out / "grading", args.workers)
    print(f"\nAll outputs are under {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
