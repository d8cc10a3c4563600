"""Fast grader vs ``nbgrader autograde`` on the same submissions of one notebook, side by side in one run.

    python benchmarks/bench_grading.py                # the first registered notebook; 2 copies each of
                                                      # perfect / one_bug / wrong = 6 submissions
    python benchmarks/bench_grading.py --assignment ID
    python benchmarks/bench_grading.py --copies 4 --quick

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


def main(argv: list[str] | None = None) -> int:
    from autograder.assignments import CHECK_MODULES, load_assignment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default=next(iter(CHECK_MODULES)), choices=list(CHECK_MODULES))
    parser.add_argument("--copies", type=int, default=2, help="copies of each example submission (default 2)")
    parser.add_argument("--quick", action="store_true", help="HWLIB_QUICK=1 for nbgrader (smaller demo loops)")
    args = parser.parse_args(argv)

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
