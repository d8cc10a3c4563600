"""Figures for notebook 04 (explaining a CNN): images with rows of explanations under them.

Every function draws a new figure and returns it; none calls ``plt.show()``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..notebook import show_as_jpeg
from ._arrays import as_numpy

KINDS = ("heat", "signed", "rgb")


def as_display_images(images) -> np.ndarray:
    """``(N, 3, H, W)`` float in [0, 1] tensors/arrays or ``(N, H, W, 3)`` uint8 -> ``(N, H, W, 3)`` float in [0, 1]."""
    images = as_numpy(images)
    if images.ndim != 4:
        raise ValueError(f"expected a batch of images (N, 3, H, W) or (N, H, W, 3), got shape {images.shape}.")
    if images.shape[1] == 3 and images.shape[-1] != 3:
        images = images.transpose(0, 2, 3, 1)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255
    return np.clip(images, 0.0, 1.0)


def normalize(maps) -> np.ndarray:
    """HW9's ``normalize``: each map rescaled to [0, 1] by its own minimum and maximum (a constant map becomes 0)."""
    maps = as_numpy(maps).astype(np.float64)
    axes = tuple(range(1, maps.ndim))
    low, high = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    return (maps - low) / np.where(high > low, high - low, 1.0)


def show_explanations(images, rows: Sequence[tuple[str, object, str]], titles: Sequence[str], suptitle: str = "",
                      colorbar_labels: dict[str, str] | None = None, jpeg: bool | None = None):
    """The images on the first row and one row per explanation under them.

    Args:
        images: ``(N, 3, H, W)`` in [0, 1] or ``(N, H, W, 3)`` uint8.
        rows: ``(row label, maps, kind)``; kind ``"heat"``: ``(N, H, W)`` non-negative maps, each on its own colour
            scale from 0 to its maximum (printed under it); ``"signed"``: ``(N, H, W)`` maps, each on its own
            symmetric red (+) / blue (-) scale (clipped at its 99.5th percentile of |value|, printed under it); ``"rgb"``: ``(N, H, W, 3)`` or
            ``(N, 3, H, W)`` shown as images after HW9's per-image min-max normalisation.
        titles: N strings (class names, predictions).
        colorbar_labels: row label -> colour-bar label.
        jpeg: show the figure in the notebook as a JPEG (:func:`hwlib.notebook.show_as_jpeg`); ``None``: for rows of
            8 or more images (a ten-image grid of photos and maps weighs 0.4-1.7 MB as PNG, a tenth as JPEG).
    """
    import matplotlib.pyplot as plt

    images = as_display_images(images)
    n = len(images)
    if len(titles) != n:
        raise ValueError(f"show_explanations: expected {n} titles, got {len(titles)}.")
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(1.3 * n + 1.2, 1.55 * (1 + len(rows)) + 0.4),
                             squeeze=False, layout="constrained", dpi=100)
    for i in range(n):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i], fontsize=8)
    axes[0, 0].set_ylabel("image")
    for r, (label, maps, kind) in enumerate(rows, start=1):
        if kind not in KINDS:
            raise ValueError(f"show_explanations: kind must be one of {KINDS}, got {kind!r}.")
        maps = as_numpy(maps)
        if len(maps) != n:
            raise ValueError(f"show_explanations: row {label!r} has {len(maps)} maps for {n} images.")
        if kind == "rgb":
            shown = normalize(as_display_images(maps) if maps.shape[-1] == 3 else maps.transpose(0, 2, 3, 1))
            for i in range(n):
                axes[r, i].imshow(shown[i])
        else:
            # Each map on its own scale (the maps of a row differ in range: on a shared scale the weakest look
            # empty), its scale printed under it; signed maps are clipped at the 99.5th percentile of |value| so
            # that one extreme pixel does not wash out the rest. The colour bar is in fractions of each map's own
            # scale.
            for i in range(n):
                vmax = float(np.abs(maps[i]).max() if kind == "heat" else np.percentile(np.abs(maps[i]), 99.5)) or 1.0
                cmap, vmin = ("hot", 0.0) if kind == "heat" else ("RdBu_r", -vmax)
                axes[r, i].imshow(maps[i] / vmax, cmap=cmap, vmin=vmin / vmax, vmax=1.0)
                axes[r, i].set_xlabel(f"{'max' if kind == 'heat' else '±'} {vmax:.2g}", fontsize=7, labelpad=1)
            bar = fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(vmin / vmax, 1.0)),
                               ax=axes[r, :].tolist(), shrink=0.85, pad=0.01)
            bar.set_label(((colorbar_labels or {}).get(label, "") + "\n(× each map's scale)").strip(), fontsize=8)
        axes[r, 0].set_ylabel(label, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    return show_as_jpeg(fig) if (n >= 8 if jpeg is None else jpeg) else fig


def show_lime(images, lime_images, titles: Sequence[str], segments=None):
    """The images, and LIME's view of them: superpixels that raise the class's probability tinted green, those that
    lower it tinted red (``hwlib.image_and_mask``), superpixel borders in yellow when ``segments`` are given."""
    import matplotlib.pyplot as plt

    images, lime_images = as_display_images(images), np.clip(as_numpy(lime_images), 0.0, 1.0)
    n = len(images)
    if lime_images.shape != images.shape or len(titles) != n:
        raise ValueError(f"show_lime: expected {n} LIME images of shape {images.shape[1:]} and {n} titles, got "
                         f"{lime_images.shape} and {len(titles)}.")
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n + 0.4, 3.5), squeeze=False, layout="constrained", dpi=100)
    for i in range(n):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i], fontsize=8)
        shown = lime_images[i]
        if segments is not None:
            from skimage.segmentation import mark_boundaries

            shown = mark_boundaries(shown, as_numpy(segments[i]).astype(int), color=(1, 1, 0), mode="inner")
        axes[1, i].imshow(shown)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle("LIME: superpixels that raise (green) or lower (red) the probability of the true class")
    return show_as_jpeg(fig)


def show_segment_numbering(image, segments_from_0, segments_from_1, sizes_from_1: Sequence[int]):
    """The slic trap: lime's features 0 and K-1 under both numberings (``sizes_from_1``: pixels per lime feature
    when the segments start at 1)."""
    import matplotlib.pyplot as plt

    image = as_display_images(np.asarray(image)[None])[0]
    k = int(np.max(segments_from_0)) + 1
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.4), layout="constrained", dpi=100)
    axes[0].imshow(image)
    axes[0].set_title(f"{k} superpixels")
    for ax, segments, name in ((axes[1], segments_from_0, "start_label=0"), (axes[2], segments_from_1, "start_label=1")):
        segments = np.asarray(segments)
        shown = image * 0.35
        shown[segments == 0] = (0.1, 0.9, 0.1)       # what lime takes as feature 0
        shown[segments == k] = (0.95, 0.1, 0.1)      # a superpixel lime never switches off
        ax.imshow(shown)
        ax.set_title(f"{name}: feature 0 has {(segments == 0).sum()} px\n"
                     f"label {k} (never switched off): {(segments == k).sum()} px", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"lime's feature z is `segments == z` for z = 0..{k - 1} (with start_label=1: feature 0 is "
                 f"{sizes_from_1[0]} px)", fontsize=10)
    return fig
