"""``python -m hwlib.demo``: run the course offline, end to end, and say where everything went.

From a checkout of the course repository it
1. executes the solution notebook of every registered assignment (``autograder/assignments.py``; ``--only ID``
   for one) headlessly in offline mode (no network),
2. writes the executed notebook as .ipynb and .html plus every figure as PNG under ``outputs/demo/``,
3. grades the example submissions with the fast autograder and prints the grade table (when available).
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

def repo_root() -> Path:
    """The course repository this hwlib was installed from (the demo needs solutions/)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "solutions").is_dir():
        raise SystemExit(f"hwlib.demo: no solutions/ folder next to {Path(__file__).parent}; run the demo from a "
                         "checkout of the course repository (pip install -e .).")
    return root


def execute_notebook(path: Path, env: dict[str, str] | None = None, timeout: int = 900, cwd: Path | None = None):
    """Execute ``path`` in a fresh Python kernel and return the executed notebook (raises on the first error).

    ``env`` entries are set in the kernel's environment (e.g. ``HWLIB_SOURCE=offline``, ``HWLIB_QUICK=1``).
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    kernel_env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    client.execute(env=kernel_env)
    return nb


def save_outputs(nb, stem: str, out_dir: Path) -> list[Path]:
    """Write ``stem.ipynb``, ``stem.html`` and ``stem_figNN.png`` (one per figure) into ``out_dir``."""
    import nbformat
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html"]
    nbformat.write(nb, written[0])
    html, _ = HTMLExporter().from_notebook_node(nb)
    written[1].write_text(html, encoding="utf-8")
    n = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                n += 1
                path = out_dir / f"{stem}_fig{n:02d}.png"
                path.write_bytes(base64.b64decode(png))
                written.append(path)
    return written


def printed_text(nb) -> str:
    """Everything the notebook printed to stdout, in order."""
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def registered_assignments(only: list[str] | None = None) -> list[str]:
    """The assignment ids of the course registry (``--only`` narrows them, in registry order)."""
    from autograder.assignments import CHECK_MODULES

    unknown = sorted(set(only or ()) - set(CHECK_MODULES))
    if unknown:
        raise SystemExit(f"hwlib.demo: unknown assignment(s) {', '.join(unknown)}; known: {', '.join(CHECK_MODULES)}")
    return [a for a in CHECK_MODULES if not only or a in only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwlib.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: outputs/demo)")
    parser.add_argument("--quick", action="store_true", help="small sizes (as the tests run it)")
    parser.add_argument("--only", action="append", metavar="ID", help="run only this assignment (repeatable)")
    parser.add_argument("--no-grading", action="store_true", help="skip grading the example submissions")
    args = parser.parse_args(argv)

    root = repo_root()
    out = (args.out or root / "outputs" / "demo").resolve()
    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1" if args.quick else "0"}
    assignments = registered_assignments(args.only)
    print(f"hwlib demo: offline mode (no network), {len(assignments)} notebook(s): {', '.join(assignments)}")
    for assignment in assignments:
        for path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
            start = time.perf_counter()
            print(f"\n== executing {path.relative_to(root)} ...", flush=True)
            nb = execute_notebook(path, env=env)
            files = save_outputs(nb, path.stem, out / assignment)
            print(printed_text(nb).rstrip())
            print(f"-- done in {time.perf_counter() - start:.0f} s; wrote:")
            for f in files:
                print(f"   {f}")
    if not args.no_grading:
        from autograder.demo import main as grading_demo

        print("\n== grading the example submissions with the fast autograder ...", flush=True)
        grading_demo(["--out", str(out / "grading"), *(f"--only={a}" for a in assignments)])
    print(f"\nAll outputs are under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
