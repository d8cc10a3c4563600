"""What `import hwlib` adds to `import torch`: each measured in a fresh interpreter, several times, side by side.

    python benchmarks/bench_startup.py [--repeats 5]

A student restarting a kernel and every grader process pays it; the goal is that hwlib adds at most 10%.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys


def seconds() -> tuple[float, float]:
    """``(import torch, then import hwlib)`` wall times in one fresh interpreter (interpreter start excluded)."""
    code = ("import time; t = time.perf_counter(); import torch; u = time.perf_counter(); import hwlib; "
            "print(u - t, time.perf_counter() - u)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    torch_s, hwlib_s = out.strip().splitlines()[-1].split()
    return float(torch_s), float(hwlib_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    runs = [seconds() for _ in range(args.repeats)]   # both in the same process: load affects them alike
    t, h = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    print(f"import torch:                   {t:6.2f} s (median of {args.repeats} fresh interpreters)")
    print(f"import hwlib (after torch):     {h:6.2f} s")
    print(f"hwlib adds {100 * h / t:.1f}% to import torch (goal <= 10%)")
    heavy = subprocess.run([sys.executable, "-c", "import sys, hwlib; print(' '.join(sorted(m for m in "
                            "('torchvision', 'transformers', 'lightning', 'pytorch_lightning', 'lime', 'captum', "
                            "'torch._dynamo', 'sklearn', 'skimage', 'matplotlib.pyplot') if m in sys.modules)))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules `import hwlib` loads: {heavy or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
