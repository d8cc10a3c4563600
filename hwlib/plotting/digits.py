"""Figures for notebook 01 (gradient ascent on digits) and for :class:`hwlib.ConfusedLogitCallback`.

Every function draws on a new figure and returns it; none calls ``plt.show()``. The callback's figure is built
without pyplot (``matplotlib.figure.Figure``), so drawing it during training never opens a window or touches
pyplot's global list of figures.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._arrays import as_numpy


def _to_rgb(image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``(C, H, W)`` -> ``(H, W, 3)`` in [0, 1]: 3 channels as RGB, others as their mean in grey; lo..hi -> 0..1."""
    x = image if image.shape[0] == 3 else image.mean(0, keepdims=True).repeat(3, 0)
    return np.clip((x.transpose(1, 2, 0) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)


def _mosaic(panels: list[list[np.ndarray | None]], pad: int) -> np.ndarray:
    """A grid of ``(h, w, 3)`` panels (None = blank) on white, ``pad`` pixels apart."""
    h, w = next(p for row in panels for p in row if p is not None).shape[:2]
    rows, cols = len(panels), len(panels[0])
    out = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), dtype=np.float32)
    for r, row in enumerate(panels):
        for c, panel in enumerate(row):
            if panel is not None:
                out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = panel
    return out


def confused_logit_figure(image, grads, classes: Sequence[int], logits: Sequence[float], label: int | None,
                          class_names: Sequence[str] | None = None, projection_factor: float = 0.5):
    """One confused sample: the image, the input gradients of its two top logits, and the image moved along each.

    Args:
        image: ``(C, H, W)`` the input (any channel count and size; 3 channels are drawn as RGB, others as grey).
        grads: ``(2, C, H, W)`` gradients of the top-1 and top-2 logits with respect to ``image``.
        classes: the two class indices; logits: their two logits; label: the true class (or None).
        class_names: names for the titles (default: the indices).
        projection_factor: the moved images are ``image + projection_factor * range(image) * g / max|g|``.

    Returns:
        a ``matplotlib.figure.Figure``: the panels are drawn as one picture (fast enough to log during training);
        both gradients (summed over channels) share one symmetric colour scale, blue < 0 < red, drawn bottom left.
    """
    import matplotlib
    from matplotlib.figure import Figure

    image, grads = as_numpy(image, np.float32), as_numpy(grads, np.float32)
    if image.ndim != 3 or grads.shape != (2, *image.shape):
        raise ValueError(f"confused_logit_figure: expected image (C, H, W) and grads (2, C, H, W), got "
                         f"{image.shape} and {grads.shape}.")
    name = (lambda c: class_names[c]) if class_names is not None else str
    lo, hi = float(image.min()), float(image.max())
    span = (hi - lo) or 1.0
    signed = grads.sum(1)                                              # 2, H, W
    vmax = float(np.abs(signed).max()) or 1.0
    cmap = matplotlib.colormaps["RdBu_r"]
    gpanels = [cmap(0.5 + 0.5 * g / vmax)[..., :3] for g in signed]
    moved = [_to_rgb(image + projection_factor * span * g / (float(np.abs(g).max()) or 1.0), lo, hi) for g in grads]
    h, w = image.shape[1:]
    pad = max(2, h // 6)
    # The colour scale of both gradients, drawn into the empty bottom-left panel (cheaper than a colour bar axes).
    scale = np.ones((h, w, 3), dtype=np.float32)
    scale[:, w // 2 - max(1, w // 10): w // 2 + max(1, w // 10)] = cmap(np.linspace(1, 0, h))[:, None, :3]
    mosaic = _mosaic([[_to_rgb(image, lo, hi), *gpanels], [scale, *moved]], pad)

    # Text is what costs most to draw: a few short labels only (the callback draws this during training).
    fig = Figure(figsize=(6, 4.4), dpi=100)                 # >= 100 dpi: the labels stay sharp when shown
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.9))
    ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    a, b = name(classes[0]), name(classes[1])
    labels = [["input", f"grad of logit {a}", f"grad of logit {b}"], ["", f"toward {a}", f"toward {b}"]]
    for r, row in enumerate(labels):
        for c, text in enumerate(row):
            ax.text(pad + c * (w + pad) + w / 2, r * (h + pad) + pad - 0.5, text, ha="center", va="bottom", fontsize=9)
    x_scale = pad + w / 2 + max(1, w // 10) + 0.5
    ax.text(x_scale, h + 2 * pad, f"+{vmax:.2g}", va="top", fontsize=8)
    ax.text(x_scale, 2 * (h + pad), f"-{vmax:.2g}", va="bottom", fontsize=8)
    true = f"true {name(label)}: " if label is not None else ""
    fig.suptitle(f"{true}logit[{a}] {logits[0]:.3f} vs logit[{b}] {logits[1]:.3f}", fontsize=11)
    return fig


# --------------------------------------------------------------------------------------- notebook 01 figures
def show_digits(images, labels, class_names: Sequence[str], title: str = "Handwritten digits", columns: int = 10):
    """A grid of ``(N, 1, H, W)`` digit images with their class names as titles."""
    import matplotlib.pyplot as plt

    images, labels = as_numpy(images, np.float32), np.asarray(labels)
    if images.ndim != 4 or len(labels) != len(images):
        raise ValueError(f"show_digits: expected images (N, 1, H, W) and N labels, got {images.shape} and "
                         f"{len(labels)} labels.")
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.4 * rows + 0.4), squeeze=False,
                             layout="constrained", dpi=100)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, label in zip(axes.flat, images, labels):
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
        ax.set_title(class_names[int(label)], fontsize=9)
    fig.suptitle(title)
    return fig


def show_logit_gradients(image, gradients: dict, title: str):
    """The image, then one signed gradient map per entry of ``gradients`` (name -> ``(1, H, W)`` or ``(H, W)``),
    each on its own symmetric blue-white-red scale with a colour bar."""
    import matplotlib.pyplot as plt

    image = as_numpy(image, np.float32).reshape(as_numpy(image, np.float32).shape[-2:])
    fig, axes = plt.subplots(1, len(gradients) + 1, figsize=(2.9 * (len(gradients) + 1), 2.9),
                             layout="constrained", dpi=100)
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input", fontsize=9)
    axes[0].axis("off")
    for ax, (name, grad) in zip(axes[1:], gradients.items()):
        g = as_numpy(grad, np.float32)
        _signed(ax, fig, g.reshape(g.shape[-2:]), name)
    fig.suptitle(title)
    return fig


def _signed(ax, fig, grad: np.ndarray, title: str):
    """A signed ``(H, W)`` map on a symmetric blue-white-red scale, with a colour bar."""
    vmax = float(np.abs(grad).max()) or 1.0
    im = ax.imshow(grad, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def show_ascent(images, probabilities, target: int, class_names: Sequence[str], max_images: int = 8):
    """Gradient ascent toward ``target``: a strip of the images (start, ..., last) and the class-probability curves.

    Args:
        images: ``(steps + 1, 1, H, W)`` in [0, 1]; probabilities: ``(steps + 1, num_classes)``.
    """
    import matplotlib.pyplot as plt

    images, probabilities = as_numpy(images, np.float32), as_numpy(probabilities, np.float32)
    if images.ndim != 4 or probabilities.shape[0] != images.shape[0]:
        raise ValueError(f"show_ascent: expected images (steps+1, 1, H, W) and probabilities (steps+1, classes), got "
                         f"{images.shape} and {probabilities.shape}.")
    steps = len(images) - 1
    shown = np.unique(np.linspace(0, steps, min(max_images, steps + 1)).round().astype(int))
    fig = plt.figure(figsize=(1.5 * len(shown) + 4.5, 2.9), layout="constrained", dpi=100)
    grid = fig.add_gridspec(1, len(shown) + 3)
    for k, i in enumerate(shown):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(images[i, 0] if images.shape[1] == 1 else images[i].transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        best = int(probabilities[i].argmax())
        ax.set_title(f"step {i}\n{class_names[best]} {probabilities[i, best]:.2f}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[0, len(shown):])
    start = int(probabilities[0].argmax())
    for c in sorted({start, int(target)}):
        ax.plot(probabilities[:, c], marker=".", label=f"p({class_names[c]})")
    others = np.delete(probabilities, sorted({start, int(target)}), axis=1).max(1)
    ax.plot(others, color="grey", linestyle=":", label="max of the others")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("probability")
    ax.legend(fontsize=8)
    fig.suptitle(f"Gradient ascent on the logit of {class_names[int(target)]!r}")
    return fig
