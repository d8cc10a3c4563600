"""Figures for notebook 03 (adversarial examples): predictions, adversarial pairs, probability trajectories,
robustness curves, per-class difficulty and the weights of a linear classifier.

Images are pixels in [0, 1], ``(N, C, H, W)`` tensors or arrays. Every function draws a new figure and returns it;
none calls ``plt.show()``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ._arrays import as_numpy


def _hwc(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] -> ``(H, W, 3)`` or ``(H, W)`` for imshow."""
    if image.ndim != 3:
        raise ValueError(f"expected an image (C, H, W), got shape {image.shape}.")
    return np.clip(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0), 0, 1)


def _imshow(ax, image: np.ndarray, title: str = "") -> None:
    img = _hwc(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def _top(probabilities: np.ndarray, class_names: Sequence[str], k: int) -> str:
    order = np.argsort(-probabilities)[:k]
    return "\n".join(f"{class_names[c][:18]} {probabilities[c]:.1%}" for c in order)


def show_predictions(images, probabilities, class_names: Sequence[str], titles: Sequence[str] | None = None,
                     top: int = 3):
    """Each image with the model's ``top`` classes and their probabilities underneath.

    Args:
        images: ``(N, C, H, W)`` in [0, 1]; probabilities: ``(N, num_classes)`` (softmax of the logits).
    """
    import matplotlib.pyplot as plt

    images, probabilities = as_numpy(images), as_numpy(probabilities)
    if images.ndim != 4 or probabilities.shape != (len(images), len(class_names)):
        raise ValueError(f"show_predictions: expected images (N, C, H, W) and probabilities (N, {len(class_names)}), "
                         f"got {images.shape} and {probabilities.shape}.")
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2.3 * n, 3.2), squeeze=False, layout="constrained", dpi=100)
    for i, ax in enumerate(axes[0]):
        _imshow(ax, images[i], titles[i] if titles else "")
        ax.text(0.5, -0.04, _top(probabilities[i], class_names, top), transform=ax.transAxes, ha="center",
                va="top", fontsize=8)
    fig.suptitle("What the model sees (top classes and probabilities)")
    return fig


def show_adversarial(original, adversarial, class_names: Sequence[str], probabilities_before,
                     probabilities_after, magnify: float | None = None, max_images: int = 4):
    """Rows of: original (top class), adversarial (top class), and the perturbation magnified around grey.

    Args:
        original, adversarial: ``(N, C, H, W)`` in [0, 1]; probabilities_*: ``(N, num_classes)``.
        magnify: factor for the perturbation (default: so that the largest change reaches the full range).
    """
    import matplotlib.pyplot as plt

    a, b = as_numpy(original), as_numpy(adversarial)
    pa, pb = as_numpy(probabilities_before), as_numpy(probabilities_after)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"show_adversarial: expected two (N, C, H, W) batches of the same shape, got {a.shape} and "
                         f"{b.shape}.")
    n = min(len(a), max_images)
    delta = b - a
    largest = float(np.abs(delta[:n]).max()) if n else 0.0
    magnify = magnify or (0.5 / largest if largest > 0 else 1.0)
    fig, axes = plt.subplots(n, 3, figsize=(8.4, 2.9 * n), squeeze=False, layout="constrained", dpi=100)
    for i in range(n):
        top_a, top_b = int(pa[i].argmax()), int(pb[i].argmax())
        _imshow(axes[i, 0], a[i], f"original: {class_names[top_a]} ({pa[i, top_a]:.0%})")
        _imshow(axes[i, 1], b[i], f"adversarial: {class_names[top_b]} ({pb[i, top_b]:.0%})")
        _imshow(axes[i, 2], 0.5 + magnify * delta[i],
                f"change x {magnify:.0f} (grey = 0)\nmax |change| = {np.abs(delta[i]).max() * 255:.1f}/255")
    return fig


def plot_probability_trajectory(probabilities, class_names: Sequence[str], title: str = ""):
    """The seed's curve: the probability of each class of interest after each step.

    Args:
        probabilities: ``(T + 1, K)`` (row 0: before the first step); class_names: K names for the columns.
    """
    import matplotlib.pyplot as plt

    p = as_numpy(probabilities)
    if p.ndim != 2 or p.shape[1] != len(class_names):
        raise ValueError(f"plot_probability_trajectory: expected probabilities (steps + 1, {len(class_names)}), "
                         f"got {p.shape}.")
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained", dpi=100)
    for k, name in enumerate(class_names):
        ax.plot(np.arange(len(p)), p[:, k], label=name, lw=2)
    ax.set_xlabel("step")
    ax.set_ylabel("probability")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(title or "Probability of each class along the way")
    ax.grid(alpha=0.3)
    return fig


def plot_robustness_curves(curves: Mapping[str, object], title: str = "Robustness against the attack budget"):
    """Attack success (left) and robust accuracy (right) against eps, one line per :class:`RobustnessCurve`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", dpi=100)
    for name, curve in curves.items():
        x = np.asarray(curve.epsilons) * 255
        axes[0].plot(x, 100 * curve.attack_success, "o-", label=name)
        axes[1].plot(x, 100 * curve.robust_accuracy, "o-", label=name)
    for ax, label in zip(axes, ("attack success (%)", "robust accuracy (%)")):
        ax.set_xlabel("eps (x 1/255, L-infinity)")
        ax.set_ylabel(label)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def plot_class_difficulty(difficulty, top: int = 20):
    """Median smallest fooling budget per class (hardest first); classes never fooled are drawn at the top."""
    import matplotlib.pyplot as plt

    med = difficulty.median_epsilon * 255
    order = [c for c in np.argsort(-np.nan_to_num(med, nan=-1.0), kind="stable") if difficulty.counts[c]][:top]
    finite = med[np.isfinite(med)]
    cap = float(difficulty.epsilons.max() * 255) * 1.1 if len(difficulty.epsilons) else 1.0
    values = [med[c] if np.isfinite(med[c]) else cap for c in order]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.2), layout="constrained", dpi=100)
    bars = ax.barh([difficulty.class_names[c] for c in order][::-1], values[::-1], color="tab:blue")
    for bar, c in zip(bars, order[::-1]):
        if not np.isfinite(med[c]):
            bar.set_color("tab:red")
    ax.set_xlabel("median smallest eps that fools an image (x 1/255); red: not fooled within the budgets")
    ax.set_title(f"Which classes are hard to fool ({int(difficulty.counts.sum())} images"
                 f"{'' if len(finite) == len(order) else ', red = beyond the largest eps'})")
    return fig


def show_linear_weights(weights, class_names: Sequence[str], image_shape=(28, 28), title: str = ""):
    """Each class's weights of a linear classifier as an image (red: positive, blue: negative), shared scale."""
    import matplotlib.pyplot as plt

    w = as_numpy(weights).reshape(len(class_names), *image_shape)
    limit = float(np.abs(w).max()) or 1.0
    fig, axes = plt.subplots(1, len(class_names), figsize=(1.3 * len(class_names) + 1, 1.9), squeeze=False,
                             layout="constrained", dpi=100)
    for ax, wc, name in zip(axes[0], w, class_names):
        im = ax.imshow(wc, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="weight")
    fig.suptitle(title or "Weights of the linear classifier, one image per class")
    return fig
