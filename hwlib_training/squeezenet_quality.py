"""Quality measurements of the offline model: does it behave like a real classifier in notebook 02?

Three numbers, each on images whose ground truth (label and object mask) we know:

* accuracy;
* saliency concentration: the vanilla saliency map (Simonyan et al. 2014, https://arxiv.org/abs/1312.6034), i.e. the
  max over channels of ``|d score_y / d x|``, averaged inside the object's mask divided by its average outside;
* fooling: normalized gradient ascent on a wrong class's score (``x += step * g / ||g||_2``) until the model
  predicts it, as notebook 02's ``make_fooling_image`` does.

These are measurements for ``hwlib_training.squeezenet`` and the tests, not the notebook's reference answers.
"""
from __future__ import annotations

import numpy as np
import torch

from hwlib.image import preprocess
from hwlib.datasets.shapes import SyntheticImages


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 100) -> float:
    """Fraction of ``images`` ``(N, H, W, 3)`` uint8 that ``model`` (eval mode) labels as ``labels`` ``(N,)``."""
    hits = 0
    for start in range(0, len(labels), batch_size):
        x = preprocess(images[start:start + batch_size], size=None).to(_device(model))
        hits += int((model(x).argmax(1).cpu().numpy() == labels[start:start + batch_size]).sum())
    return hits / len(labels)


def saliency_maps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Vanilla saliency ``(N, H, W)``: max over channels of ``|d score_y / d x|`` for a normalized batch
    ``x`` ``(N, 3, H, W)`` and labels ``y`` ``(N,)``. Parameter gradients are not touched."""
    x = x.detach().clone().requires_grad_(True)
    scores = model(x).gather(1, y.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(scores, x)
    return grad.abs().amax(dim=1)


def saliency_concentration(model: torch.nn.Module, data: SyntheticImages, batch_size: int = 50) -> np.ndarray:
    """Per image ``(N,)``: mean saliency inside the object's mask / mean saliency outside it."""
    ratios = []
    for start in range(0, len(data), batch_size):
        sl = slice(start, start + batch_size)
        x = preprocess(data.images[sl], size=None).to(_device(model))
        y = torch.as_tensor(data.labels[sl], device=x.device)
        sal = saliency_maps(model, x, y).cpu()
        mask = torch.as_tensor(data.masks[sl])
        inside = (sal * mask).sum((1, 2)) / mask.sum((1, 2))
        outside = (sal * ~mask).sum((1, 2)) / (~mask).sum((1, 2))
        ratios.append((inside / outside.clamp_min(1e-20)).numpy())
    return np.concatenate(ratios)


def fooling_iterations(model: torch.nn.Module, images: np.ndarray, target: np.ndarray, step: float = 1.0,
                       max_iterations: int = 100) -> np.ndarray:
    """Batched normalized gradient ascent on ``target`` scores; per image ``(N,)`` the number of steps until the
    model predicts ``target`` (0 if it already does), or -1 if it still does not after ``max_iterations``."""
    x = preprocess(images, size=None).to(_device(model))
    t = torch.as_tensor(target, device=x.device).view(-1, 1)
    iterations = torch.full((len(x),), -1, dtype=torch.long)
    for it in range(max_iterations + 1):
        x = x.detach().requires_grad_(True)
        scores = model(x)
        done = (scores.argmax(1) == t[:, 0]).cpu() & (iterations < 0)
        iterations[done] = it
        if (iterations >= 0).all() or it == max_iterations:
            break
        (grad,) = torch.autograd.grad(scores.gather(1, t).sum(), x)
        norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        active = (iterations < 0).to(x.device).view(-1, 1, 1, 1)
        x = x + active * step * grad / norm
    return iterations.numpy()


def measure(model: torch.nn.Module, heldout: SyntheticImages, samples: SyntheticImages, n_fooling: int = 10) -> dict:
    """All three measurements as a JSON-ready dict: accuracy on ``heldout`` and on ``samples``, saliency
    concentration on ``heldout``, fooling on the first ``n_fooling`` ``samples`` (target ``(y + 1) % K``)."""
    was_training = model.training
    model.eval()
    try:
        ratios = saliency_concentration(model, heldout)
        k = len(samples.class_names)
        fool = fooling_iterations(model, samples.images[:n_fooling], (samples.labels[:n_fooling] + 1) % k)
        return {
            "heldout_accuracy": accuracy(model, heldout.images, heldout.labels),
            "sample_accuracy": accuracy(model, samples.images, samples.labels),
            "saliency_inside_outside_ratio_mean": float(ratios.mean()),
            "saliency_inside_outside_ratio_median": float(np.median(ratios)),
            "saliency_fraction_ratio_at_least_2": float((ratios >= 2).mean()),
            "fooling_succeeded": int((fool >= 0).sum()),
            "fooling_attempted": int(len(fool)),
            "fooling_max_iterations": int(fool.max()) if (fool >= 0).all() else None,
            "fooling_iterations": [int(i) for i in fool],
        }
    finally:
        model.train(was_training)
