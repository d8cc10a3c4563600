"""Notebook 04's explanations: the course's reference (batched) vs Captum vs HW9-style per-sample loops, and hwlib's
LIME vs lime's defaults, on the same model, images and sample counts, measured side by side in one run.

    python benchmarks/bench_explanations.py [--images 4] [--samples 32] [--steps 32] [--lime-samples 200]
                                            [--lime-images 2] [--repeats 3] [--width 1] [--device cpu]

Goals (issue 10): reference / Captum <= 1.0x; HW9 loop / reference >= 1.5x on the CPU; LIME with lime's default
batch_size=10 / hwlib's LIME >= 3x. ``--width 1`` uses a randomly initialised full-width HW9 network instead of the
shipped offline model (HW9's size; slow on a CPU).
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")   # lime draws a progress bar per explanation

import numpy as np
import torch
import torch.nn.functional as F

import hwlib
from _solutions import solution_function
from bench_saliency import timed_side_by_side
from hwlib.datasets.food import synthetic_food_samples
from hwlib.models import freeze



def normalize(maps: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, maps.dim()))
    low, high = maps.amin(dim=dims, keepdim=True), maps.amax(dim=dims, keepdim=True)
    return (maps - low) / (high - low)


# ------------------------------------------------------------------------------------------------ HW9-style loops
def hw9_saliency(x, y, model):
    """One image at a time, loss.backward() and .grad (HW9's structure without its .cuda() and in-place bugs)."""
    maps = []
    for i in range(len(x)):
        xi = x[i:i + 1].detach().clone().requires_grad_(True)
        F.cross_entropy(model(xi), y[i:i + 1]).backward()
        maps.append(xi.grad.abs().amax(dim=1))
    return normalize(torch.cat(maps))


def hw9_smooth_grad(x, y, model, epoch, multiplier):
    """One forward and backward pass per noisy copy (HW9's loop, with the correct noise level)."""
    sigma = multiplier * float(x.max() - x.min())
    total = torch.zeros_like(x)
    for _ in range(epoch):
        noisy = (x + sigma * torch.randn_like(x)).unsqueeze(0).requires_grad_(True)
        F.cross_entropy(model(noisy), y.view(1)).backward()
        total += noisy.grad[0].abs()
    return normalize((total / epoch)[None])[0]


def hw9_integrated_gradients(x, target, model, steps):
    """One path image at a time (HW9's loop, with alpha up to 1 and times x)."""
    total = torch.zeros_like(x)
    for k in range(1, steps + 1):
        path = (k / steps * x).detach().requires_grad_(True)
        model(path)[0, target].backward()
        total += path.grad
    return (x * total / steps)[0]


# ------------------------------------------------------------------------------------------------------- Captum
def loss_forward(model):
    return lambda z: -F.log_softmax(model(z), dim=1)       # Captum's target column = the cross-entropy loss


def captum_saliency(x, y, model):
    from captum.attr import Saliency

    return normalize(Saliency(loss_forward(model)).attribute(x.detach().clone().requires_grad_(True), target=y,
                                                             abs=True).amax(dim=1))


def captum_smooth_grad(x, y, model, samples, multiplier):
    from captum.attr import NoiseTunnel, Saliency

    sigma = multiplier * float(x.max() - x.min())                     # NoiseTunnel's stdevs is an absolute sigma
    maps = NoiseTunnel(Saliency(loss_forward(model))).attribute(
        x[None].detach().clone().requires_grad_(True), nt_type="smoothgrad", nt_samples=samples, stdevs=sigma,
        target=int(y), abs=True)
    return normalize(maps)[0]


def captum_integrated_gradients(x, target, model, steps):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(model).attribute(x, target=int(target), n_steps=steps, method="riemann_left")[0]


def report(title: str, times: dict, reference: str, goals: dict[str, str]) -> None:
    print(f"\n{title}")
    print(f"  {'method':<40}{'seconds':>10}{'vs reference':>14}   goal")
    for name, t in times.items():
        print(f"  {name:<40}{t:>10.4f}{t / times[reference]:>13.2f}x   {goals.get(name, '')}")


def each(fn, n):
    return lambda: [fn(i) for i in range(n)]


def bench_saliency(x, y, model, saliency, args, device):
    times, out = timed_side_by_side({
        "reference (batched)": lambda: saliency(x, y, model),
        "captum Saliency": lambda: captum_saliency(x, y, model),
        "HW9-style loop over images": lambda: hw9_saliency(x, y, model)}, args.repeats, device)
    report("saliency maps", times, "reference (batched)", {"captum Saliency": "reference <= 1.0x of it",
                                                           "HW9-style loop over images": ">= 1.5x"})
    ref, cap, loop = out.values()
    print(f"  max |reference - captum| = {(ref - cap).abs().max().item():.1e}, |reference - loop| = "
          f"{(ref - loop).abs().max().item():.1e} (maps in [0, 1])")


def bench_smooth_grad(x, y, model, smooth_grad, args, device):
    n = len(x)
    times, _ = timed_side_by_side({
        "reference (batched noise)": each(lambda i: smooth_grad(x[i], y[i], model, args.samples, 0.2), n),
        "captum NoiseTunnel(smoothgrad)": each(lambda i: captum_smooth_grad(x[i], y[i], model, args.samples, 0.2), n),
        "HW9-style loop over noise samples": each(lambda i: hw9_smooth_grad(x[i], y[i], model, args.samples, 0.2), n),
    }, args.repeats, device)
    report(f"SmoothGrad, {args.samples} noisy copies per image", times, "reference (batched noise)",
           {"captum NoiseTunnel(smoothgrad)": "reference <= 1.0x of it", "HW9-style loop over noise samples": ">= 1.5x"})


def bench_integrated_gradients(x, y, model, IG, args, device):
    n = len(x)
    times, _ = timed_side_by_side({
        "reference (batched steps)": each(lambda i: IG.generate_integrated_gradients(x[i:i + 1], y[i], args.steps), n),
        "captum IntegratedGradients riemann_left": each(
            lambda i: captum_integrated_gradients(x[i:i + 1], y[i], model, args.steps), n),
        "HW9-style loop over steps": each(lambda i: hw9_integrated_gradients(x[i:i + 1], y[i], model, args.steps), n),
    }, args.repeats, device)
    report(f"integrated gradients, {args.steps} steps per image", times, "reference (batched steps)",
           {"captum IntegratedGradients riemann_left": "reference <= 1.0x of it",
            "HW9-style loop over steps": ">= 1.5x"})


def bench_lime(samples, model, args, device):
    images = samples.images[:args.lime_images].astype(np.float64) / 255
    predict = hwlib.make_predict(model)
    segments = [hwlib.slic_superpixels(image) for image in images]

    def lime_default(batch_size):
        from lime import lime_image

        def run():
            for image, label, seg in zip(images, samples.labels, segments):
                lime_image.LimeImageExplainer(random_state=0).explain_instance(
                    image, predict, labels=(int(label),), top_labels=None, num_samples=args.lime_samples,
                    batch_size=batch_size, segmentation_fn=lambda _, seg=seg: seg)
        return run

    def ours():
        for image, label, seg in zip(images, samples.labels, segments):
            hwlib.explain_image(image, predict, int(label), num_samples=args.lime_samples, segments=seg)
    times, _ = timed_side_by_side({"hwlib.explain_image (batched)": ours,
                                   "lime explain_instance, batch_size=10": lime_default(10),
                                   f"lime explain_instance, batch_size={args.lime_samples}":
                                       lime_default(args.lime_samples)}, max(1, args.repeats - 1), device)
    report(f"LIME, {args.lime_images} images x {args.lime_samples} samples (same superpixels, same samples)", times,
           "hwlib.explain_image (batched)", {"lime explain_instance, batch_size=10": ">= 3x"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--samples", type=int, default=32, help="SmoothGrad noisy copies per image")
    parser.add_argument("--steps", type=int, default=32, help="integrated-gradients steps per image")
    parser.add_argument("--lime-samples", type=int, default=200, help="LIME samples per explanation")
    parser.add_argument("--lime-images", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=float, default=None, help="random HW9 network of this width (1 = HW9's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", default="saliency,smoothgrad,ig,lime", help="comma-separated subset")
    args = parser.parse_args()
    methods = set(args.methods.split(","))

    device = hwlib.get_device(args.device)
    if args.width is None:
        model = hwlib.load_food_classifier("offline", device=device).model
        what = "offline food classifier (width 1/16)"
    else:
        torch.manual_seed(0)
        model = freeze(hwlib.FoodClassifier(width=args.width)).to(device)
        what = f"random FoodClassifier(width={args.width:g})"
    samples = synthetic_food_samples(args.images)
    x = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float().div(255).to(device)
    y = torch.as_tensor(samples.labels, device=device)
    from autograder.checks.cnn_explanation import ASSIGNMENT

    notebook = (ASSIGNMENT.id, ASSIGNMENT.notebook)
    saliency = solution_function(*notebook, "compute_saliency_maps")
    smooth_grad = solution_function(*notebook, "smooth_grad")
    IG = solution_function(*notebook, "IntegratedGradients")(model)
    print(f"{what}, {args.images} images 3 x 128 x 128, {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, best of {args.repeats} (calls interleaved)")

    if "saliency" in methods:
        bench_saliency(x, y, model, saliency, args, device)
    if "smoothgrad" in methods:
        bench_smooth_grad(x, y, model, smooth_grad, args, device)
    if "ig" in methods:
        bench_integrated_gradients(x, y, model, IG, args, device)
    if "lime" in methods:
        bench_lime(samples, model, args, device)


if __name__ == "__main__":
    main()
