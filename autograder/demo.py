"""``python -m autograder demo``: grade the example submissions of every assignment and print the grade table.

Called by ``make demo`` (through ``python -m hwlib.demo``) as ``main(["--out", DIR])``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from .assignments import CHECK_MODULES, examples_dir, load_assignment


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


def main(argv: list[str] | None = None) -> int:
    from .batch import find_submissions, grade_batch
    from .sandbox.device_shim import resolve_device
    from .sandbox import Limits, isolation

    parser = argparse.ArgumentParser(prog="python -m autograder demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary folder)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", action="append", metavar="ID", help="grade only this assignment (repeatable)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="autograder-demo-"))
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    unknown = sorted(set(args.only or ()) - set(CHECK_MODULES))
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(CHECK_MODULES)}")
    for assignment_id in (a for a in CHECK_MODULES if not args.only or a in args.only):
        assignment = load_assignment(assignment_id)
        submissions = find_submissions([examples_dir(assignment)], assignment)
        if isolation() == "none":  # the hostile examples really attack: never without the sandbox
            submissions = [s for s in submissions if not s.student.startswith("hostile_")]
            print("no namespace isolation on this machine: skipping the hostile example submissions.")
        target = out / assignment_id
        results = grade_batch(submissions, assignment, target / "grades.csv", target / "feedback", args.workers,
                              Limits(timeout_s=10, memory_mb=3072, threads=threads), resolve_device("auto"), force=True,
                              log=lambda *_: None)
        print(f"\n{assignment_id}: example submissions graded by the fast autograder\n")
        print(table(results, assignment))
        print(f"\nCSV: {target / 'grades.csv'}\nfeedback pages: {target / 'feedback'}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
