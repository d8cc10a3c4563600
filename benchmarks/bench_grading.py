"""Fast grader vs ``nbgrader autograde`` on the same submissions of one notebook, side by side in one run; and the
fast grader's fixed start-up and steady state for every notebook.

    python benchmarks/bench_grading.py                # the first registered notebook; 2 copies each of
                                                      # perfect / one_bug / wrong = 6 submissions
    python benchmarks/bench_grading.py --assignment ID
    python benchmarks/bench_grading.py --copies 4 --quick
    python benchmarks/bench_grading.py --startup      # every notebook: start-up and steady state (no nbgrader)

``--startup`` grades perfect / one_bug / wrong / perfect (``--workers 1``) in a fresh process per notebook, as
``python -m autograder grade`` does, and reads the times off the batch's log: *start-up* is from the process's
start to the batch's header line (imports, reference outputs computed in their trusted process and self-checked,
the context built; the sandbox's launcher warms up meanwhile), *first* is the first submission (it may wait for
the launcher), *steady* the mean of the others, and *fixed* = start-up + first - steady: the time the batch spends
before its first submission's own work, whichever process it waits for. Each notebook runs twice: without a
trusted state folder (the default: the reference is computed in every grader process) and with
``$AUTOGRADER_STATE`` set, its cache already filled (the reference reused from the verified cache).

Both graders run sequentially (``--workers 1`` for ours; nbgrader has no parallelism) in a throw-away nbgrader
course, offline, on the CPU, with the reference outputs computed beforehand (both use the same cache). Prints
seconds per submission for each, the ratio, and both graders' scores so you can see they agree.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("perfect", "one_bug", "wrong")


def make_course(tmp: Path, copies: int, assignment) -> tuple[Path, list[str]]:
    """A course root with solutions/, notebooks/, the nbgrader config and ``copies`` of each example submitted."""
    from autograder.instructor import fixtures
    examples_dir = fixtures().examples_dir

    course = tmp / "course"
    (course / "autograder").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", course / "autograder")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, course / folder)
    students = []
    for example in EXAMPLES:
        for k in range(copies):
            student = f"{example}_{k + 1}"
            target = course / "autograder" / "submitted" / student / assignment.id
            target.mkdir(parents=True)
            shutil.copy(examples_dir(assignment) / f"{example}.ipynb", target / assignment.notebook)
            students.append(student)
    return course, students


def nbgrader(course: Path, env: dict[str, str], *args: str) -> float:
    """Run ``nbgrader ARGS`` in the course's autograder/ folder; returns the wall time in seconds."""
    bindir = str(Path(sys.executable).parent)
    full_env = {**os.environ, **env, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    start = time.perf_counter()
    result = subprocess.run([os.path.join(bindir, "nbgrader"), *args], cwd=course / "autograder", env=full_env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def timed_batch(submissions, assignment, out: Path) -> tuple[float, list]:
    from autograder.batch import grade_batch
    from autograder.sandbox import Limits

    start = time.perf_counter()
    results = grade_batch(submissions, assignment, out / "grades.csv", out / "fb", workers=1,
                          limits=Limits(timeout_s=120, memory_mb=4096, threads=os.cpu_count() or 1),
                          device="cpu", force=True, log=lambda *_: None)
    return time.perf_counter() - start, results


#: run in a fresh interpreter by :func:`startup_times`: grade ``argv[4:]`` (the local pool, one worker, when
#: ``argv[3]`` is ``-``, else on the Dask scheduler at that address) and print each log line with its time since
#: the interpreter started.
_MEASURE = """
import sys, time
start = time.perf_counter()
from pathlib import Path
from autograder.assignments import load_assignment
from autograder.batch import find_submissions, grade_batch
from autograder.sandbox import Limits
assignment, out, scheduler, paths = load_assignment(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
def log(line):
    print(f"{time.perf_counter() - start:.3f} {line}", flush=True)
limits = Limits(timeout_s=120, memory_mb=4096, threads=1)
if scheduler == "-":
    grade_batch(find_submissions(paths, assignment), assignment, out / "grades.csv", out / "fb", workers=1,
                limits=limits, device="cpu", force=True, log=log)
else:
    from autograder.distributed import grade_on_scheduler
    grade_on_scheduler(scheduler, find_submissions(paths, assignment), assignment, out / "grades.csv", out / "fb",
                       limits=limits, device="cpu", force=True, log=log)
"""


def startup_times(assignment, tmp: Path, env: dict[str, str], scheduler: str = "-") -> tuple[float, float, float]:
    """(start-up, first submission, steady state per submission) of one fresh grader process (see the module
    docstring); ``scheduler``: a Dask scheduler's address, or ``-`` for the local pool."""
    from autograder.instructor import fixtures

    examples_dir = fixtures().examples_dir
    folder = tmp / f"in-{assignment.id}"
    folder.mkdir(exist_ok=True)
    for name, example in (("a", "perfect"), ("b", "one_bug"), ("c", "wrong"), ("d", "perfect")):
        shutil.copy(examples_dir(assignment) / f"{example}.ipynb", folder / f"{name}.ipynb")
    out = subprocess.run([sys.executable, "-c", _MEASURE, assignment.id, str(tmp / "out"), scheduler, str(folder)],
                         env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"grading {assignment.id} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    times = [(float(t), line) for t, _, line in (row.partition(" ") for row in out.stdout.splitlines())
             if t.replace(".", "").isdigit()]
    header = next(t for t, line in times if "submission(s)" in line)
    done = [t for t, line in times if line.startswith("  ")]
    return header, done[0] - header, (done[-1] - done[0]) / (len(done) - 1)


def startup_main(assignments: list) -> int:
    import logging

    from distributed import LocalCluster

    from autograder.sandbox import isolation

    base = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "AUTOGRADER_PROGRESS": "0"}
    os.environ.update(base)   # the cluster's worker inherits it
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        for assignment in assignments:
            fresh = startup_times(assignment, Path(tmp), {**base, "AUTOGRADER_CACHE": f"{tmp}/none"})
            state = {**base, "AUTOGRADER_CACHE": f"{tmp}/cache", "AUTOGRADER_STATE": f"{tmp}/state"}
            startup_times(assignment, Path(tmp), state)   # fills the trusted cache
            cached = startup_times(assignment, Path(tmp), state)
            startup_times(assignment, Path(tmp), state, cluster.scheduler_address)   # warms the worker's launcher
            warm = startup_times(assignment, Path(tmp), state, cluster.scheduler_address)
            rows.append((assignment.id, fresh, cached, warm))
            print(f"{assignment.id}: done", file=sys.stderr, flush=True)
    print(f"fast grader, one fresh process per run, --workers 1, CPU, isolation: {isolation()}, "
          f"{os.cpu_count()} cores (seconds)")
    print(f"{'':<26} {'no trusted state folder':^38}   {'cached reference ($AUTOGRADER_STATE)':^38}   "
          f"{'cached reference, running Dask worker':^38}")
    print(f"{'notebook':<26}" + f" {'start-up':>9} {'first':>6} {'steady':>7} {'fixed':>6} {'x':>6} " * 3)
    for name, *runs in rows:
        line = f"{name:<26}"
        for start, first, steady in runs:
            fixed = start + first - steady
            line += f" {start:>9.2f} {first:>6.2f} {steady:>7.2f} {fixed:>6.2f} {fixed / steady:>6.1f} "
        print(line)
    print("fixed = start-up + first - steady: what the batch costs before its first submission's own work "
          "(the launcher's warm-up included); x = fixed / steady. Running Dask worker: the batch before it on the "
          "same one-worker cluster (--scheduler tcp://...) left the worker's launcher warm.")
    return 0


def main(argv: list[str] | None = None) -> int:
    from autograder.assignments import CHECK_MODULES, load_assignment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=None, choices=list(CHECK_MODULES),
                        help="the notebook (default: the first registered one; with --startup: every one)")
    parser.add_argument("--copies", type=int, default=2, help="copies of each example submission (default 2)")
    parser.add_argument("--quick", action="store_true", help="HWLIB_QUICK=1 for nbgrader (smaller demo loops)")
    parser.add_argument("--startup", action="store_true",
                        help="only the fast grader's start-up and steady state, for every notebook (or --assignment)")
    args = parser.parse_args(argv)
    if args.startup:
        return startup_main([load_assignment(a) for a in ([args.assignment] if args.assignment else CHECK_MODULES)])
    args.assignment = args.assignment or next(iter(CHECK_MODULES))

    from autograder.batch import find_submissions
    from autograder.reference import reference_outputs
    from autograder.sandbox import isolation

    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1" if args.quick else "0"}
    os.environ.update(env)
    assignment = load_assignment(args.assignment)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        os.environ.setdefault("AUTOGRADER_CACHE", os.path.join(tmp, "reference-cache"))
        reference_outputs(assignment)  # once, shared by both graders (not timed)
        course, students = make_course(Path(tmp), args.copies, assignment)
        nbgrader(course, env, "generate_assignment", assignment.id, "--force")

        submissions = find_submissions([course / "autograder" / "submitted"], assignment)
        one, _ = timed_batch(submissions[:1], assignment, Path(tmp) / "one")
        fast, results = timed_batch(submissions, assignment, Path(tmp) / "all")

        # (ClearMetadataPreprocessor would strip the grade cells' metadata before nbgrader saves the scores)
        start = time.perf_counter()
        nbgrader(course, env, "autograde", assignment.id, "--force", "--ClearMetadataPreprocessor.enabled=False")
        slow = time.perf_counter() - start
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gb:
            nb_scores = {s: gb.find_submission(assignment.id, s).score for s in students}

    n = len(students)
    steady = (fast - one) / (n - 1)
    startup = one - steady
    print(f"{n} submissions of {assignment.id} ({args.copies} x {', '.join(EXAMPLES)}), sequential, CPU, "
          f"isolation: {isolation()}, HWLIB_QUICK={env['HWLIB_QUICK']}")
    print(f"{'student':<12} {'fast grader':>12} {'nbgrader':>9}")
    for r in results:
        print(f"{r.student:<12} {r.total:>12g} {nb_scores[r.student]:>9g}")
    disagree = sorted(r.student for r in results if abs(r.total - nb_scores[r.student]) > 1e-9)
    print("the two graders give every submission the same score" if not disagree else
          f"THE GRADERS DISAGREE on {', '.join(disagree)} (a hidden cell running several checks?)")
    print(f"fast grader, fixed start-up (reference check, context, warm launcher): {startup:6.2f} s")
    print(f"fast grader, steady state:                                             {steady:6.2f} s per submission")
    print(f"fast grader, whole batch of {n}:                                        {fast / n:6.2f} s per submission")
    print(f"nbgrader autograde, whole batch of {n}:                                 {slow / n:6.2f} s per submission")
    print(f"ratio on this batch: {slow / fast:.1f}x faster; steady state: {slow / n / steady:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
