"""Attacks: the course's reference FGSM and targeted attack (the solution notebook's functions) vs Captum's
``captum.robust.FGSM`` / ``PGD`` vs a seed-style per-image loop, on the same model and batch, side by side in one
run. Prints seconds and the ratio ours / Captum (goal <= 1.0x) and checks that the results agree.

    python benchmarks/bench_attacks.py [--batch 10] [--steps 10] [--repeats 5] [--device cpu] [--torchattacks]

``--torchattacks`` adds torchattacks' FGSM / targeted PGD when it is installed. It is never a dependency of the
course (torchattacks pins ``requests~=2.25.1``, which conflicts with nbgrader); install it for this benchmark only,
in a throwaway environment: ``pip install --no-deps torchattacks``.
"""
from __future__ import annotations

import argparse
import warnings

import torch
import torch.nn.functional as F

import hwlib
from _solutions import solution_function
from autograder.checks.adversarial_examples import ASSIGNMENT
from bench_saliency import timed_side_by_side


def seed_style_fgsm(x, y, model, eps):
    """The article's way, minus its bugs: one image at a time, .backward() and .grad."""
    out = []
    for i in range(len(x)):
        xi = x[i:i + 1].detach().clone().requires_grad_(True)
        F.cross_entropy(model(xi), y[i:i + 1]).backward()
        out.append((xi + eps * xi.grad.sign()).clamp(0, 1).detach())
    return torch.cat(out)


def seed_style_targeted(x, t, model, eps, step_size, steps):
    """One image at a time, a fresh leaf per step."""
    out = []
    for i in range(len(x)):
        original, xi = x[i:i + 1].detach(), x[i:i + 1].detach().clone()
        for _ in range(steps):
            xi.requires_grad_(True)
            F.cross_entropy(model(xi), t[i:i + 1]).backward()
            xi = torch.min(torch.max(xi.detach() - step_size * xi.grad.sign(), original - eps),
                           original + eps).clamp(0, 1)
        out.append(xi.detach())
    return torch.cat(out)


def captum_attacks(model):
    from captum.robust import FGSM, PGD

    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    fgsm = FGSM(model, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0.0, upper_bound=1.0)
    fgsm.zero_thresh = 0.0          # sign(0) = 0 only where the gradient is exactly 0, as in ours
    pgd = PGD(model, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0.0, upper_bound=1.0)
    pgd.fgsm.zero_thresh = 0.0
    return fgsm, pgd


def torchattacks_attacks(model, eps, step_size, steps):
    """torchattacks' FGSM and targeted PGD (no random start), or ``None`` when it is not installed."""
    try:
        import torchattacks
    except ImportError:
        print("torchattacks is not installed: `pip install --no-deps torchattacks` in a throwaway environment.")
        return None
    fgsm = torchattacks.FGSM(model, eps=eps)
    pgd = torchattacks.PGD(model, eps=eps, alpha=step_size, steps=steps, random_start=False)
    pgd.set_mode_targeted_by_label(quiet=True)
    return fgsm, pgd


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of pixels equal within 1e-6."""
    return ((a - b).abs() <= 1e-6).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--source", default="offline", help="offline (SqueezeNet, 128 px) or online (GoogLeNet)")
    parser.add_argument("--torchattacks", action="store_true", help="add torchattacks when it is installed")
    args = parser.parse_args()

    device = hwlib.get_device(args.device)
    model, names, source = hwlib.load_pixel_classifier(args.source, device=device)
    samples = hwlib.load_sample_images(args.batch, source=source)
    x = (torch.as_tensor(samples.images).permute(0, 3, 1, 2).float() / 255).to(device)
    y = torch.as_tensor(samples.labels, device=device)
    t = (y + 3) % len(names)
    eps, step = 8 / 255, 1 / 255
    fgsm = solution_function(ASSIGNMENT.id, ASSIGNMENT.notebook, "fgsm")
    targeted = solution_function(ASSIGNMENT.id, ASSIGNMENT.notebook, "targeted_attack")
    captum_fgsm, captum_pgd = captum_attacks(model)
    print(f"model: {type(model.model).__name__} ({source}), batch {tuple(x.shape)}, device {device}, "
          f"torch threads {torch.get_num_threads()}, eps 8/255, targeted: {args.steps} steps of 1/255")

    for title, fns in (
        ("FGSM", {"ours": lambda: fgsm(x, y, model, eps),
                  "captum": lambda: captum_fgsm.perturb(x, eps, y),
                  "seed-style loop": lambda: seed_style_fgsm(x, y, model, eps)}),
        (f"targeted attack ({args.steps} steps)", {
            "ours": lambda: targeted(x, t, model, eps, step_size=step, num_steps=args.steps),
            "captum": lambda: captum_pgd.perturb(x, radius=eps, step_size=step, step_num=args.steps, target=t,
                                                 targeted=True, random_start=False, norm="Linf"),
            "seed-style loop": lambda: seed_style_targeted(x, t, model, eps, step, args.steps)}),
    ):
        if args.torchattacks:
            extra = torchattacks_attacks(model, eps, step, args.steps)
            if extra is not None:
                fns["torchattacks"] = (lambda: extra[0](x, y)) if title == "FGSM" else (lambda: extra[1](x, t))
        best, results = timed_side_by_side(fns, args.repeats, device)
        print(f"\n{title}")
        for name, seconds in best.items():
            print(f"  {name:<16} {seconds * 1000:9.1f} ms  {seconds / best['captum']:5.2f}x captum   "
                  f"pixels equal to ours: {agreement(results[name], results['ours']):.4%}")
        print(f"  ours / captum = {best['ours'] / best['captum']:.2f}x (goal <= 1.0x)")


if __name__ == "__main__":
    main()
