"""Grading throughput: the local pool vs a Dask LocalCluster on the same submissions, and a paper estimate for a
whole course (1,000 students x 5 notebooks) on 8, 32 and 128 workers.

    nice python benchmarks/bench_scaling.py --assignment 02             # 4 copies of perfect/one_bug/wrong
    nice python benchmarks/bench_scaling.py --assignment 02 --copies 8 --runs pool:1,pool:2,local:1,local:2

Every run grades the same submissions from scratch (``force``), offline, on the CPU, with the reference outputs
already cached (their cold cost is measured once, first). For each run: wall time, submissions per minute over the
whole run (start-up included) and in the steady state (after every worker's first result), and CPU seconds. The
cluster runs also report, per task, the CPU time of the worker and of its sandbox (launcher + the submission's
processes): the first task of a worker carries its start-up (the worker's context, the launcher's torch import and
context), the others are the per-submission cost. Those CPU figures, which load on a shared machine inflates far
less than wall times, feed the estimate: one core per worker,

    wall(W) ~ reference (once per notebook) + start-up (per worker and notebook) + ceil(5,000 / W) x per submission

The load average is printed: on a shared machine, wall-clock figures are only comparable within one run.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = ("perfect", "one_bug", "wrong")
TASK_LINE = re.compile(r"^  (\S+): .*\(([\d.]+) s, ([\d.]+) s CPU on (\S+)\)$")


def cpu_so_far() -> float:
    """CPU seconds of this process and of every child it has reaped (the pool's launchers, once closed)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Recorder:
    """A ``log`` that keeps every line and the time each submission's result arrived."""

    def __init__(self):
        self.start, self.lines, self.arrivals = time.perf_counter(), [], []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if line.startswith("  "):
            self.arrivals.append(time.perf_counter() - self.start)


def rates(n: int, wall: float, arrivals: list[float], workers: int) -> tuple[float, float]:
    """(submissions per minute over the whole run, in the steady state after each worker's first result)."""
    overall = 60 * n / wall
    later = sorted(arrivals)[workers - 1:]
    steady = 60 * (len(later) - 1) / (later[-1] - later[0]) if len(later) > 1 and later[-1] > later[0] else float("nan")
    return overall, steady


def run_pool(workers: int, submissions, assignment, out: Path) -> dict:
    from autograder.batch import grade_batch
    from autograder.sandbox import Limits

    limits = Limits(timeout_s=120, memory_mb=4096, threads=max(1, (os.cpu_count() or 1) // workers))
    log, cpu = Recorder(), cpu_so_far()
    grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers, limits, "cpu", force=True,
                log=log)
    wall = time.perf_counter() - log.start
    return {"wall": wall, "cpu": cpu_so_far() - cpu, "rates": rates(len(submissions), wall, log.arrivals, workers),
            "csv": (out / "grades.csv").read_text()}


def run_cluster(workers: int, submissions, assignment, out: Path) -> dict:
    from autograder.distributed import connect, grade_distributed
    from autograder.sandbox import Limits

    limits = Limits(timeout_s=120, memory_mb=4096, threads=max(1, (os.cpu_count() or 1) // workers))
    started = time.perf_counter()
    with connect(f"local:{workers}", log=lambda *_: None) as client:
        cluster_start = time.perf_counter() - started
        log = Recorder()
        grade_distributed(submissions, assignment, out / "grades.csv", out / "feedback", client, limits, "cpu",
                          force=True, log=log)
        wall = time.perf_counter() - log.start
    tasks = [m.groups() for m in map(TASK_LINE.match, log.lines) if m]
    first, later = [], []
    # a worker's first task carries its start-up; LocalCluster workers share a host name, so take the first
    # `workers` results as the first ones (each worker returns its first result before its second)
    for k, (_, seconds, cpu, _) in enumerate(tasks):
        (first if k < workers else later).append((float(seconds), float(cpu)))
    return {"wall": wall, "cluster_start": cluster_start, "rates": rates(len(submissions), wall, log.arrivals, workers),
            "first": first, "later": later,
            "csv": (out / "grades.csv").read_text()}


def imports_cpu(assignment) -> float:
    """CPU seconds a fresh worker spends importing what a grading task needs (before its first task runs)."""
    import subprocess

    module = assignment.make_context.__module__
    cpu = cpu_so_far()
    subprocess.run([sys.executable, "-c", f"import torch, autograder.distributed, {module}"], check=True)
    return cpu_so_far() - cpu


def client_cost(feedback: Path, repeats: int = 3) -> float:
    """Seconds the client spends per result writing its page and JSON (what it does as each result arrives)."""
    from autograder.batch import write_atomic

    pages = sorted(feedback.glob("*.html"))
    pairs = [(p, p.read_text(), feedback / ".results" / f"{p.stem}.json") for p in pages]
    pairs = [(p, html, j, j.read_text()) for p, html, j in pairs if j.exists()]
    start = time.perf_counter()
    for _ in range(repeats):
        for page, html, result, text in pairs:
            write_atomic(page, html)
            write_atomic(result, text)
    return (time.perf_counter() - start) / max(1, repeats * len(pairs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=None,
                        help="assignment id or its number, e.g. 02 (default: the first registered one with example "
                             "submissions)")
    parser.add_argument("--copies", type=int, default=4, help="copies of each example submission (default 4)")
    parser.add_argument("--runs", default="pool:1,pool:2,local:1,local:2",
                        help="comma-separated pool:N (local pool, N workers) and local:N (LocalCluster, N workers)")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--notebooks", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.update({"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1"})

    from autograder.assignments import CHECK_MODULES, load_assignment
    from autograder.instructor import fixtures
    examples_dir = fixtures().examples_dir
    from autograder.batch import find_submissions
    from autograder.reference import reference_outputs

    with_examples = [a for a in CHECK_MODULES if (examples_dir(load_assignment(a)) / "perfect.ipynb").is_file()]
    if not with_examples and not args.assignment:
        raise SystemExit("no registered assignment has example submissions yet")
    chosen = args.assignment or with_examples[0]
    matches = [a for a in CHECK_MODULES if a == chosen or a.startswith(f"{chosen}_")]
    if len(matches) != 1:
        raise SystemExit(f"--assignment {chosen}: expected one of {', '.join(CHECK_MODULES)} (or its number)")
    assignment = load_assignment(matches[0])
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        tmp = Path(tmp)
        os.environ["AUTOGRADER_CACHE"] = str(tmp / "reference-cache")
        cpu, start = cpu_so_far(), time.perf_counter()
        reference_outputs(assignment, store=True)     # cold: computed in a trusted subprocess, then cached
        reference = (time.perf_counter() - start, cpu_so_far() - cpu)
        folder = tmp / "submissions"
        folder.mkdir()
        for example in EXAMPLES:
            for k in range(args.copies):
                shutil.copy(examples_dir(assignment) / f"{example}.ipynb", folder / f"{example}_{k + 1:02d}.ipynb")
        submissions = find_submissions([folder], assignment)
        n = len(submissions)
        load_before = os.getloadavg()
        results = {}
        for run in runs:
            kind, _, workers = run.partition(":")
            out = tmp / run.replace(":", "-")
            runner = {"pool": run_pool, "local": run_cluster}[kind]
            results[run] = runner(int(workers), submissions, assignment, out)
            print(f"  {run}: {results[run]['wall']:.1f} s", file=sys.stderr)
        per_result = client_cost(tmp / runs[-1].replace(":", "-") / "feedback")
        load_after = os.getloadavg()

    print(f"{n} submissions of {assignment.id} ({args.copies} x {', '.join(EXAMPLES)}), CPU, {os.cpu_count()} cores; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)")
    print(f"reference outputs, cold (once per notebook and grader version): {reference[0]:.1f} s wall, "
          f"{reference[1]:.1f} s CPU")
    print(f"{'run':<9} {'wall s':>8} {'sub/min':>8} {'steady sub/min':>15} {'cluster start s':>16}  same CSV as first")
    first_csv = next(iter(results.values()))["csv"]
    for run, r in results.items():
        print(f"{run:<9} {r['wall']:>8.1f} {r['rates'][0]:>8.1f} {r['rates'][1]:>15.1f} "
              f"{r.get('cluster_start', float('nan')):>16.1f}  {r['csv'] == first_csv}")
    cluster = [r for run, r in results.items() if run.startswith("local:")]
    if not cluster:
        return 0
    later = [t for r in cluster for t in r["later"]]
    first = [t for r in cluster for t in r["first"]]
    if not later or not first:
        print("not enough graded tasks for the per-submission figures (use more --copies)")
        return 1
    steady_cpu = statistics.median(c for _, c in later)
    steady_wall = statistics.median(s for s, _ in later)
    startup_cpu = statistics.median(c for _, c in first) - steady_cpu
    startup_wall = statistics.median(s for s, _ in first) - steady_wall
    outside = imports_cpu(assignment)
    print(f"per submission, steady state (median of {len(later)} tasks): {steady_cpu:.2f} s CPU, {steady_wall:.2f} s "
          f"wall on this loaded machine")
    print(f"start-up per worker (first task minus steady): {startup_cpu:.2f} s CPU, {startup_wall:.2f} s wall; "
          f"plus the worker's imports (torch, the grader) {outside:.1f} s CPU")
    print(f"client, per result (write page + JSON atomically): {1000 * per_result:.1f} ms")
    total = args.students * args.notebooks
    print(f"\npaper estimate: {args.students} students x {args.notebooks} notebooks = {total} submissions, one core "
          f"per worker, every notebook costing what {assignment.id} costs (CPU figures above):")
    print(f"{'workers':>8} {'reference s':>12} {'start-up s':>11} {'grading s':>10} {'client s':>9} "
          f"{'total min':>10}  dominated by")
    ref_all = args.notebooks * reference[1]
    start_all = args.notebooks * (startup_cpu + outside)
    client_all = total * per_result          # the client writes results one after another
    for workers in (8, 32, 128):
        grading = args.notebooks * math.ceil(args.students / workers) * steady_cpu
        parts = {"reference outputs": ref_all, "start-up": start_all, "student code": grading}
        if client_all > grading:              # results arrive faster than the client writes them
            parts = {**parts, "student code": 0.0, "client writes": client_all}
        print(f"{workers:>8} {ref_all:>12.0f} {start_all:>11.0f} {grading:>10.0f} {client_all:>9.0f} "
              f"{sum(parts.values()) / 60:>10.1f}  {max(parts, key=parts.get)}")
    print("(grading and client writes overlap: the larger counts; scheduler overhead per task is about a ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
