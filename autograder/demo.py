"""``python -m autograder demo`` (``make demo``): the course working, offline, end to end, in minutes.

1. grades a representative set of example submissions of every registered assignment (``--only ID`` for one;
   :data:`REPRESENTATIVE`: perfect, one bug, wrong, the untouched release, unparseable, two known variants, two
   hostile ones) with the fast grader and prints one grade table per assignment;
2. executes every solution notebook headlessly in offline mode (no network) in quick mode (``HWLIB_QUICK=1``)
   without its hidden-test blocks, two kernels at a time (longest first), and writes the executed notebook as
   .ipynb and .html plus every figure as an image file under ``--out`` (default ``outputs/demo/``).

``--full`` (``make demo FULL=1``) is the whole run: full-size notebooks with their hidden tests, one at a time, and
every example submission (slow but honest, every variant, the generic hostile set). ``--no-notebooks`` /
``--no-grading`` skip a part. This is an instructor command: it needs a checkout of the course repository (the
solutions and the test fixtures).
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
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


#: The example submissions the quick demo grades (names without ``.ipynb``; a ``*`` takes the first two that
#: match, in name order): what a grade table needs to show the checks at work, in seconds per notebook.
REPRESENTATIVE = ("perfect", "one_bug", "wrong", "release", "unparseable", "variant_*",
                  "hostile_forges_results", "hostile_fake_pytest_output")


def representative(submissions: list) -> list:
    """The submissions named by :data:`REPRESENTATIVE` (in that order)."""
    chosen = []
    for name in REPRESENTATIVE:
        if name.endswith("*"):
            chosen += [s for s in submissions if s.student.startswith(name[:-1])][:2]
        else:
            chosen += [s for s in submissions if s.student == name]
    return chosen


class NotebookFailed(RuntimeError):
    """A solution notebook raised while the demo executed it (the message says where)."""


DURATIONS = "durations.json"


def _execute(assignment_id: str, out: Path, env: dict[str, str], hidden_tests: bool) -> tuple[str, float]:
    """Execute one solution notebook; its outputs under ``out/<id>/``; returns what to print about it and the
    seconds it took."""
    from .notebook_run import execute_notebook, printed_text, save_outputs

    root = repo_root()
    path = solution_notebook(load_assignment(assignment_id))
    start = time.perf_counter()
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    try:
        nb = execute_notebook(path, env=env, hidden_tests=hidden_tests)
    except Exception as err:   # a failing cell: say which, and go on with the other notebooks
        raise NotebookFailed(f"\n== {shown}: FAILED after {time.perf_counter() - start:.0f} s\n{err}") from None
    files = save_outputs(nb, path.stem, out / assignment_id)
    seconds = time.perf_counter() - start
    hidden = "" if hidden_tests else " (without its hidden tests: the grade tables above show the grading)"
    return "\n".join([f"\n== {shown}", printed_text(nb).rstrip(),
                      f"-- executed in {seconds:.0f} s{hidden}; wrote:", *(f"   {f}" for f in files)]), seconds


def longest_first(assignments: list[str], durations: dict[str, float]) -> list[str]:
    """``assignments`` in the order to start them so that parallel kernels finish together: longest first, by the
    seconds the last run on this machine took (``durations``), else by the solution notebook's size."""
    def cost(assignment_id: str) -> float:
        if assignment_id in durations:
            return float(durations[assignment_id])
        return solution_notebook(load_assignment(assignment_id)).stat().st_size / 1000.0
    return sorted(assignments, key=cost, reverse=True)


def run_notebooks(assignments: list[str], out: Path, quick: bool, parallel: int = 1) -> list[str]:
    """Execute each assignment's solution notebook offline, ``parallel`` kernels at a time (longest first, each
    kernel with its share of the CPU threads); write its outputs under ``out/<id>/`` and print each one's printout
    (in course order). The quick run leaves out the hidden tests. Returns the ids of those that failed."""
    import json

    threads = str(max(1, (os.cpu_count() or 1) // max(1, parallel)))
    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1" if quick else "0",
           "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    print(f"\n== executing {len(assignments)} solution notebook(s) offline ({'quick' if quick else 'full'} mode, "
          f"{parallel} at a time) ...", flush=True)
    record, mode = out / DURATIONS, "quick" if quick else "full"
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict) or not isinstance(known.get(mode, {}), dict):
        known = {}
    durations = known.setdefault(mode, {})
    failed, took = [], {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {a: pool.submit(_execute, a, out, env, not quick) for a in longest_first(assignments, durations)}
        running = [(a, futures[a]) for a in assignments]
        for assignment_id, future in running:
            try:
                text, took[assignment_id] = future.result()
                print(text, flush=True)
            except NotebookFailed as err:
                print(err, flush=True)
                failed.append(assignment_id)
    durations.update({a: round(s, 1) for a, s in took.items()})
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(known, indent=1, sort_keys=True))
    return failed


def grade_examples(assignments: list[str], out: Path, workers: int, full: bool = True) -> None:
    """Grade the example submissions of each assignment (every one when ``full``, else :func:`representative`);
    print its grade table."""
    from .batch import find_submissions, grade_batch
    from .instructor import fixtures
    from .sandbox import Limits, isolation
    from .sandbox.device_shim import resolve_device

    examples_dir = fixtures().examples_dir
    threads = max(1, (os.cpu_count() or 1) // workers)
    for assignment_id in assignments:
        assignment = load_assignment(assignment_id)
        submissions = find_submissions([examples_dir(assignment)], assignment)
        if not full:
            submissions = representative(submissions)
        if isolation() == "none":  # the hostile examples really attack: never without the sandbox
            submissions = [s for s in submissions if not s.student.startswith("hostile_")]
            print("no namespace isolation on this machine: skipping the hostile example submissions.")
        target = out / assignment_id
        results = grade_batch(submissions, assignment, target / "grades.csv", target / "feedback", workers,
                              Limits(timeout_s=10, memory_mb=3072, threads=threads), resolve_device("auto"), force=True,
                              log=lambda *_: None)
        print(f"\n{assignment_id}: {'example' if full else 'representative example'} submissions graded by the "
              "fast autograder\n")
        print(table(results, assignment))
        print(f"\nCSV: {target / 'grades.csv'}\nfeedback pages: {target / 'feedback'}/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: outputs/demo)")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--only", action="append", metavar="ID", help="only this assignment (repeatable)")
    parser.add_argument("--full", action="store_true",
                        help="full-size notebooks one at a time, and every example submission (make demo FULL=1)")
    parser.add_argument("--quick", action="store_true", help="(the default) notebooks with small sizes (HWLIB_QUICK=1)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="notebooks executed at once (default 2 in quick mode, 1 with --full)")
    parser.add_argument("--no-notebooks", action="store_true", help="do not execute the solution notebooks")
    parser.add_argument("--no-grading", action="store_true", help="do not grade the example submissions")


def run(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.only or ()) - set(CHECK_MODULES))
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(CHECK_MODULES)}")
    if args.workers < 1 or (args.parallel is not None and args.parallel < 1):
        raise SystemExit("--workers and --parallel must be at least 1.")
    assignments = [a for a in CHECK_MODULES if not args.only or a in args.only]
    out = (args.out or repo_root() / "outputs" / "demo").resolve()
    full = args.full and not args.quick
    parallel = args.parallel or (1 if full else 2)
    print(f"course demo: offline mode (no network), {'full' if full else 'quick'} run, {len(assignments)} "
          f"notebook(s): {', '.join(assignments)}")
    start = time.perf_counter()
    if not args.no_grading:
        print(f"\n== grading {'every' if full else 'a representative set of'} example submission(s) with the fast "
              "autograder ...", flush=True)
        grade_examples(assignments, out / "grading", args.workers, full)
    failed = run_notebooks(assignments, out, not full, parallel) if not args.no_notebooks else []
    print(f"\nAll outputs are under {out} ({time.perf_counter() - start:.0f} s)")
    if failed:
        print(f"FAILED: the solution notebook(s) of {', '.join(failed)} raised (see above).")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
