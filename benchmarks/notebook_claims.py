"""Run solution notebooks offline end to end and assert their claim tables (each notebook's ``check_demo`` in
tests/fixtures/<topic>.py), in full mode by default — the mode a student sees; the test suite covers quick mode.

    .venv/bin/python benchmarks/notebook_claims.py [--quick] [assignment id ...]

Prints, per notebook, the mode, the seconds it took (one notebook at a time), the size of the executed notebook and
how many of its figures are PNG and JPEG; exits 1 when a claim does not hold or an executed notebook is 3 MB or more
(the suite checks notebook 04's size in quick mode). Executed notebooks are written to
outputs/claims/<mode>/<assignment>/."""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE_LIMIT_MB = 3.0
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder.assignments import registered, solution_notebook  # noqa: E402
from autograder.notebook_run import execute_notebook, printed_text, save_outputs  # noqa: E402
from fixtures import examples_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignment ids (default: all registered)")
    parser.add_argument("--quick", action="store_true", help="quick mode instead of full mode")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    env = dict(os.environ, HWLIB_SOURCE="offline", HWLIB_NO_NETWORK="1", HWLIB_QUICK="1" if args.quick else "0")
    failed = 0
    for assignment in registered():
        if args.ids and assignment.id not in args.ids:
            continue
        path = solution_notebook(assignment)
        start = time.perf_counter()
        try:
            nb = execute_notebook(path, env=env, timeout=3600)
        except Exception as err:  # noqa: BLE001 - a cell that raised: report it and go on with the next notebook
            failed += 1
            print(f"{assignment.id:<26} {mode:>5} mode  {time.perf_counter() - start:6.0f} s  A CELL RAISED:\n"
                  f"{str(err)[-3000:]}", flush=True)
            continue
        seconds = time.perf_counter() - start
        out = ROOT / "outputs" / "claims" / mode / assignment.id
        save_outputs(nb, path.stem, out)
        size = (out / f"{path.stem}.ipynb").stat().st_size / 1e6
        shown = [k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {}) if k.startswith("image/")]
        figures = f"{shown.count('image/png')} PNG + {shown.count('image/jpeg')} JPEG figures"
        check = examples_for(assignment.id).check_demo
        try:
            if check is None:
                raise AssertionError("no check_demo")
            check(printed_text(nb))
            verdict = "claims hold"
        except AssertionError:
            failed += 1
            verdict = "CLAIM FAILS:\n" + traceback.format_exc(limit=1)
        if size >= SIZE_LIMIT_MB:
            failed += 1
            verdict = f"TOO LARGE (limit {SIZE_LIMIT_MB:g} MB); {verdict}"
        print(f"{assignment.id:<26} {mode:>5} mode  {seconds:6.0f} s  executed notebook {size:5.2f} MB ({figures})  "
              f"{verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
