"""CPU cost of torch's thread pool on a busy machine: one notebook's probes (the solution's functions, as the hidden
cells run them) on 1 thread and on 2, beside ``--busy`` processes that keep the cores occupied, side by side in one
run. Why the test suite runs every process on one thread (tests/conftest.py) and the grader's trusted computations
on one thread (``checks._kit.OneThread``): a pool whose threads busy-wait for a descheduled partner burns CPU that
every other process needs.

    python benchmarks/bench_threads.py [--assignment ID] [--busy 2] [--repeats 3]   (default: every notebook)

Each configuration runs in a fresh process (its thread count set before any work); the figures are that process's
wall and CPU time for ``--repeats`` runs of every probe, after one untimed run (imports, first-use costs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = '''
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[2]))
from autograder.assignments import load_assignment, solution_namespace
from autograder.runner import run_probe
assignment = load_assignment(sys.argv[1])
context = assignment.make_context("cpu")
namespace = solution_namespace(assignment)
probes = list(dict.fromkeys(check.probe for check in assignment.checks))
for probe in probes:
    run_probe(probe, namespace, context)
wall, cpu = time.perf_counter(), time.process_time()
for _ in range(int(sys.argv[3])):
    for probe in probes:
        run_probe(probe, namespace, context)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
'''


def measure(assignment: str, threads: int, repeats: int) -> dict:
    env = {**os.environ, "HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1"}
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(variable, None)
    done = subprocess.run([sys.executable, "-c", RUN, assignment, str(threads), str(repeats)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"the measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=None, help="one notebook (default: every registered one)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2,
                        help="busy processes beside the measurement (default: one per core)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from autograder.assignments import CHECK_MODULES

    assignments = [args.assignment] if args.assignment else list(CHECK_MODULES)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        rows = {(a, t): measure(a, t, args.repeats) for a in assignments for t in (1, 2)}
    finally:
        for process in busy:
            process.kill()
            process.wait()
    print(f"every probe x {args.repeats}, beside {args.busy} busy process(es), {os.cpu_count()} cores (seconds)")
    print(f"{'notebook':<26} {'threads':>8} {'wall':>8} {'CPU':>8} {'CPU / 1 thread':>15}")
    for (a, threads), row in rows.items():
        print(f"{a:<26} {threads:>8} {row['wall']:>8.1f} {row['cpu']:>8.1f} {row['cpu'] / rows[a, 1]['cpu']:>15.1f}")


if __name__ == "__main__":
    main()
