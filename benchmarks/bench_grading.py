"""Fast grader vs ``nbgrader autograde`` on the same submissions of notebook 02, side by side in one run.

    python benchmarks/bench_grading.py                # 2 copies each of perfect / one_bug / wrong = 6 submissions
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
ASSIGNMENT = "02_network_visualization"
EXAMPLES = ("perfect", "one_bug", "wrong")


def make_course(tmp: Path, copies: int) -> tuple[Path, list[str]]:
    """A course root with solutions/, notebooks/, the nbgrader config and ``copies`` of each example submitted."""
    from autograder.assignments import examples_dir, load_assignment

    assignment = load_assignment(ASSIGNMENT)
    course = tmp / "course"
    (course / "autograder").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", course / "autograder")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, course / folder)
    students = []
    for example in EXAMPLES:
        for k in range(copies):
            student = f"{example}_{k + 1}"
            target = course / "autograder" / "submitted" / student / ASSIGNMENT
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="copies of each example submission (default 2)")
    parser.add_argument("--quick", action="store_true", help="HWLIB_QUICK=1 for nbgrader (smaller demo loops)")
    args = parser.parse_args(argv)

    from autograder.assignments import load_assignment
    from autograder.batch import find_submissions, grade_batch
    from autograder.reference import reference_outputs
    from autograder.sandbox import Limits, isolation

    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1" if args.quick else "0"}
    os.environ.update(env)
    assignment = load_assignment(ASSIGNMENT)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        os.environ.setdefault("AUTOGRADER_CACHE", os.path.join(tmp, "reference-cache"))
        reference_outputs(assignment)  # once, shared by both graders (not timed)
        course, students = make_course(Path(tmp), args.copies)
        nbgrader(course, env, "generate_assignment", ASSIGNMENT, "--force")

        submissions = find_submissions([course / "autograder" / "submitted"], assignment)
        start = time.perf_counter()
        results = grade_batch(submissions, assignment, Path(tmp) / "fast" / "grades.csv", Path(tmp) / "fast" / "fb",
                              workers=1, limits=Limits(timeout_s=120, memory_mb=4096, threads=os.cpu_count() or 1),
                              device="cpu", log=lambda *_: None)
        fast = time.perf_counter() - start

        # (ClearMetadataPreprocessor would strip the grade cells' metadata before nbgrader saves the scores)
        slow = nbgrader(course, env, "autograde", ASSIGNMENT, "--force", "--ClearMetadataPreprocessor.enabled=False")
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gb:
            nb_scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in students}

    n = len(students)
    print(f"{n} submissions of {ASSIGNMENT} ({args.copies} x {', '.join(EXAMPLES)}), sequential, CPU, "
          f"isolation: {isolation()}, HWLIB_QUICK={env['HWLIB_QUICK']}")
    print(f"{'student':<12} {'fast grader':>12} {'nbgrader':>9}")
    for r in results:
        print(f"{r.student:<12} {r.total:>12g} {nb_scores[r.student]:>9g}")
    print(f"fast grader (python -m autograder grade --workers 1): {fast / n:6.2f} s per submission")
    print(f"nbgrader autograde:                                {slow / n:6.2f} s per submission")
    print(f"ratio: {slow / fast:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
