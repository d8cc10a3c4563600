"""Saliency maps: the course's reference (batched, one backward pass) vs Captum's ``Saliency`` vs a seed-style
per-image loop, on the same model and batch, measured side by side in one run.

    python benchmarks/bench_saliency.py [--batch 25] [--size 128] [--repeats 5] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import torch

import hwlib
from _solutions import solution_function


def seed_style_saliency(X, y, model):
    """What the source article does, minus its bugs: one image at a time, gradient via .backward() and .grad."""
    maps = []
    for i in range(X.shape[0]):
        x = X[i:i + 1].detach().clone().requires_grad_(True)
        model(x)[0, y[i]].backward()
        maps.append(x.grad.abs().amax(dim=1))
    return torch.cat(maps)


def captum_saliency(X, y, model):
    import warnings

    from captum.attr import Saliency

    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")

    return Saliency(model).attribute(X.detach().clone(), target=y, abs=True).amax(dim=1)


def timed_side_by_side(fns: dict, repeats: int, device) -> tuple[dict, dict]:
    """Best-of-``repeats`` wall time of each function, calls interleaved (a b c a b c ...) so that a busy
    machine slows all of them alike; one warm-up call each. Returns ({name: seconds}, {name: result})."""
    results = {name: fn() for name, fn in fns.items()}
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            results[name] = fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--size", type=int, default=128, help="image side (the offline model's native size is 128)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    device = hwlib.get_device(args.device)
    model, class_names, source = hwlib.load_squeezenet("offline", device=device)
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(args.batch, 3, args.size, args.size, generator=gen).to(device)
    y = torch.randint(0, len(class_names), (args.batch,), generator=gen).to(device)
    from autograder.checks.network_visualization import ASSIGNMENT

    ours = solution_function(ASSIGNMENT.id, ASSIGNMENT.notebook, "compute_saliency_maps")

    times, maps = timed_side_by_side({
        "reference (batched)": lambda: ours(X, y, model),
        "captum.attr.Saliency": lambda: captum_saliency(X, y, model),
        "seed-style per-image loop": lambda: seed_style_saliency(X, y, model)}, args.repeats, device)
    t_ours = times["reference (batched)"]
    s_ours, s_captum, s_loop = maps.values()

    print(f"saliency maps: SqueezeNet 1.1 ({source}), batch {args.batch} x 3 x {args.size} x {args.size}, "
          f"{device}, torch {torch.__version__}, {torch.get_num_threads()} threads, best of {args.repeats}")
    print(f"{'method':<28}{'seconds':>10}{'vs reference':>14}")
    for name, t in times.items():
        print(f"{name:<28}{t:>10.4f}{t / t_ours:>13.2f}x")
    scale = s_captum.abs().max().item()
    print(f"max |reference - captum| = {(s_ours - s_captum).abs().max().item():.3e} "
          f"(max saliency {scale:.3e}); max |reference - loop| = {(s_ours - s_loop).abs().max().item():.3e}")


if __name__ == "__main__":
    main()
