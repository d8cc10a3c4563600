"""Figures for notebook 02: saliency grids, fooling-image differences, class-visualization progress.

Every function draws on a new figure and returns it (so tests can inspect it and notebooks can ``display`` it);
none calls ``plt.show()``: Jupyter shows returned figures, scripts call ``fig.savefig``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._arrays import as_numpy


def show_saliency_maps(images, saliency, titles: Sequence[str], masks=None, cmap: str = "hot"):
    """Images on the first row, their saliency maps below (and ground-truth masks as contours if given).

    Args:
        images: uint8 ``(N, H, W, 3)``.
        saliency: ``(N, H, W)`` tensor or array, non-negative.
        titles: N strings (e.g. class names).
        masks: optional bool ``(N, H, W)`` object masks, outlined in cyan on the saliency row.
    """
    import matplotlib.pyplot as plt

    images, saliency = as_numpy(images), as_numpy(saliency)
    if saliency.ndim != 3 or images.shape[:3] != saliency.shape or len(titles) != len(images):
        raise ValueError(f"show_saliency_maps: expected images (N, H, W, 3), saliency (N, H, W) and N titles, "
                         f"got {images.shape}, {saliency.shape} and {len(titles)} titles.")
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n + 0.8, 5.2), squeeze=False, layout="constrained", dpi=100)
    for i in range(n):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i], fontsize=9)
        vmax = float(saliency[i].max()) or 1.0           # each map on its own scale: the maps differ in range
        axes[1, i].imshow(saliency[i], cmap=cmap, vmin=0, vmax=vmax)
        axes[1, i].set_title(f"max {vmax:.3g}", fontsize=8)
        if masks is not None:
            axes[1, i].contour(as_numpy(masks)[i].astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
        for ax in axes[:, i]:
            ax.axis("off")
    axes[0, 0].text(-0.08, 0.5, "image", transform=axes[0, 0].transAxes, rotation=90, va="center", ha="right")
    axes[1, 0].text(-0.08, 0.5, "saliency", transform=axes[1, 0].transAxes, rotation=90, va="center", ha="right")
    fig.suptitle("Saliency maps: which pixels move the correct class score most\n"
                 "(|d score / d pixel|, max over RGB; each map scaled from 0 to its own maximum)", fontsize=10)
    return fig


def show_fooling_image(original, fooling, original_title: str, fooling_title: str, magnify: float = 10.0):
    """Original, fooling image, their absolute difference, and the signed RGB change magnified ``magnify`` times.

    Args:
        original, fooling: uint8 ``(H, W, 3)`` (e.g. from :func:`hwlib.deprocess` with ``should_rescale=False``).
    """
    import matplotlib.pyplot as plt

    a, b = as_numpy(original).astype(np.float32), as_numpy(fooling).astype(np.float32)
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"show_fooling_image: expected two (H, W, 3) images of the same shape, got {a.shape} "
                         f"and {b.shape}.")
    diff = np.abs(b - a).mean(-1) / 255.0
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), layout="constrained", dpi=100)
    axes[0].imshow(a.astype(np.uint8))
    axes[0].set_title(original_title)
    axes[1].imshow(b.astype(np.uint8))
    axes[1].set_title(fooling_title)
    im = axes[2].imshow(diff, cmap="magma", vmin=0)
    axes[2].set_title("|difference|")
    fig.colorbar(im, ax=axes[2], shrink=0.8, label="mean |Δpixel| (0–1)")
    axes[3].imshow(np.clip(0.5 + magnify * (b - a) / 255.0, 0, 1))  # signed RGB change, grey = unchanged
    axes[3].set_title(f"signed change × {magnify:g} (grey = 0)")
    for ax in axes:
        ax.axis("off")
    return fig


def show_class_visualization_progress(snapshots: Sequence[tuple[int, np.ndarray]], class_name: str,
                                      total: int | None = None):
    """A row of snapshots ``(iteration, uint8 (H, W, 3))`` from :func:`hwlib.create_class_visualization`."""
    import matplotlib.pyplot as plt

    if not snapshots:
        raise ValueError("show_class_visualization_progress: expected at least one (iteration, image) snapshot.")
    total = total or snapshots[-1][0]
    fig, axes = plt.subplots(1, len(snapshots), figsize=(2.6 * len(snapshots), 3.0), squeeze=False,
                             layout="constrained", dpi=100)
    for ax, (it, img) in zip(axes[0], snapshots):
        ax.imshow(img)
        ax.set_title(f"iteration {it}/{total}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"Class visualization: {class_name}")
    return fig
