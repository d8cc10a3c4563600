"""The command line: a thin layer over the importable core.

    python -m autograder grade SUBMISSIONS... --assignment ID --out grades.csv \\
        --feedback feedback/ --workers 2 --timeout 60 --memory-mb 4096 --device auto [--force]
    python -m autograder grade ... --scheduler tcp://host:8786 | local:N     # on a Dask cluster (docs/scaling.md)
    python -m autograder demo [--out DIR] [--only ID]   # grade the example submissions, print the grade table
    python -m autograder list                           # the registered assignments, their functions and points
    python -m autograder mutants [ID...] [--write-docs] # mutation-test the checks (instructor checkout)
    python -m autograder sync [--check] [--no-release]  # solution notebooks' written cells, release, examples
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def grade_main(args: argparse.Namespace) -> int:
    from .assignments import load_assignment
    from .batch import find_submissions, grade_batch
    from .sandbox import Limits, isolation
    from .sandbox.device_shim import resolve_device

    try:
        assignment = load_assignment(args.assignment)
        submissions = find_submissions(args.submissions, assignment)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    if isolation() == "none":
        print("WARNING: no namespace isolation on this machine (run as root, or allow unprivileged user "
              "namespaces): student code can read what this user can read.", file=sys.stderr)
    feedback = args.feedback or args.out.parent / "feedback"
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb, threads=threads, processes=args.max_processes,
                    max_cells=args.max_cells, max_code_kb=args.max_code_kb)
    if args.scheduler:   # a Dask cluster (autograder.distributed): same grader, one task per submission
        from .distributed import grade_on_scheduler

        results = grade_on_scheduler(args.scheduler, submissions, assignment, args.out, feedback, limits, args.device,
                                     args.force)
    else:
        results = grade_batch(submissions, assignment, args.out, feedback, args.workers, limits,
                              resolve_device(args.device), args.force)
    print(f"wrote {args.out} ({len(results)} row(s)) and feedback pages in {feedback}/")
    return 0 if len(results) == len(submissions) and all(r.graded for r in results) else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description="The course's fast, sandboxed grader.")
    verbs = p.add_subparsers(dest="verb", required=True)
    g = verbs.add_parser("grade", help="grade submissions into a CSV and per-student HTML feedback")
    g.add_argument("submissions", nargs="+", type=Path,
                   help="notebooks, folders of notebooks, or nbgrader's submitted/ folder")
    g.add_argument("--assignment", required=True, help="assignment id (see `python -m autograder list`)")
    g.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV to write (default grades.csv)")
    g.add_argument("--feedback", type=Path, help="folder for the HTML pages (default: feedback/ next to --out)")
    g.add_argument("--workers", type=int, default=1, help="submissions graded at once (default 1)")
    g.add_argument("--scheduler", metavar="ADDRESS|local:N",
                   help="grade on a Dask cluster: a scheduler address (tcp://host:8786) or local:N for a LocalCluster "
                        "of N worker processes on this machine (instead of --workers)")
    g.add_argument("--timeout", type=float, default=60,
                   help="CPU seconds per submission (idle time counted too; wall-clock backstop 5x): one deadline "
                        "for all its cells and checks (default 60)")
    g.add_argument("--memory-mb", type=int, default=4096,
                   help="memory of one submission, all its processes and shared memory included (default 4096)")
    g.add_argument("--max-processes", type=int, default=256,
                   help="processes and threads one submission may run at once (default 256)")
    g.add_argument("--max-cells", type=int, default=300, help="graded code cells per notebook (default 300)")
    g.add_argument("--max-code-kb", type=int, default=2048,
                   help="kilobytes of code in the graded cells of one notebook (default 2048)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where student code runs")
    g.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    verbs.add_parser("list", help="the registered assignments, their functions and points")
    from .demo import add_arguments as demo_arguments

    demo_arguments(verbs.add_parser("demo", help="execute every solution notebook offline and grade the example "
                                                 "submissions (instructor checkout)"))
    e = verbs.add_parser("examples", help="regenerate the example submissions in tests/fixtures/examples/ "
                                          "(instructor checkout)")
    e.add_argument("--check", action="store_true", help="only check that the committed examples are current")
    e.add_argument("--assignment", action="append", help="an assignment id (default: every registered one)")
    m = verbs.add_parser("mutants", help="mutation-test the checks: mutants of the solution functions, judged by an "
                                         "independent oracle, scored by the hidden checks (instructor checkout)")
    m.add_argument("rest", nargs=argparse.REMAINDER, help="ID... [--sample N] [--limit N] [--function F] [--visible] "
                                                         "[--quiet] [--write-docs]")
    c = verbs.add_parser("ci", help="grade one submission for CI: JUnit report, quiz as a count, exit status from "
                                     "the grader (same as python -I -m autograder.ci; run with -I in a student's "
                                     "repository)")
    c.add_argument("rest", nargs=argparse.REMAINDER, help="SUBMISSION --assignment ID [--junitxml FILE] "
                                                         "[--timeout S] [--memory-mb MB] [--device D] [--out DIR]")
    from .course import add_arguments as sync_arguments

    sync_arguments(verbs.add_parser("sync", help="write every solution notebook's first cells (course.cfg) and "
                                                 "hidden-test cells (the registry), then nbgrader generate_assignment "
                                                 "for every assignment and the example submissions (instructor "
                                                 "checkout)"))
    r = verbs.add_parser("release", help="write the student course (notebooks, hwlib, its weights, a README, "
                                         "a pyproject for hwlib alone) into a folder")
    r.add_argument("out", type=Path, help="folder to write (must be empty or absent)")
    r.add_argument("--wheel", action="store_true", help="also build the student wheel into OUT/dist/")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["mutants"]:   # instructor-side: the engine lives with the test fixtures (tests/mutation/)
        import importlib

        from .instructor import fixtures

        fixtures()   # puts tests/ on the import path, or explains why this is not an instructor checkout
        return importlib.import_module("mutation.engine").main(argv[1:])
    args = parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        raise SystemExit("--workers must be at least 1.")
    if getattr(args, "scheduler", None) and args.workers != 1:
        raise SystemExit("--workers is the local pool's size; with --scheduler the cluster's workers grade.")
    if args.verb == "grade":
        return grade_main(args)
    if args.verb == "list":
        from .assignments import registered

        for assignment in registered():
            functions = ", ".join(f"{f} ({assignment.points_for(f):g})" for f in assignment.functions)
            print(f"{assignment.id:<28} {assignment.max_points:>4g} points  {assignment.notebook}: {functions}")
        return 0
    if args.verb == "examples":
        import importlib

        from .instructor import fixtures

        generate = importlib.import_module(f"{fixtures().__name__}.generate")
        flags = ["--check"] if args.check else []
        return generate.main([*flags, *(f"--assignment={a}" for a in args.assignment or ())])
    if args.verb == "ci":
        from .ci import main as ci_main

        return ci_main(args.rest)
    if args.verb == "sync":
        from .course import run as sync

        return sync(args)
    if args.verb == "release":
        from .release import write_release

        write_release(args.out, wheel=args.wheel)
        return 0
    from .demo import run as run_demo

    return run_demo(args)
