"""Sample images for notebook 02.

online:  CS231n's 25 ImageNet validation images (``imagenet_val_25.npz``), downloaded once into the hwlib cache.
offline: 25 synthetic images from :func:`hwlib.datasets.shapes.sample_images`, with ground-truth object masks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import assets
from ..sources import fetch, load_cached, resolve_with_fallback

# CS231n's 25 images (no published checksum; keys X, y and label_map): the entry in hwlib.assets.
IMAGENET_VAL_URL, IMAGENET_VAL_FILE = assets.IMAGENET_VAL_25.pair

#: ``(url, cache filename)`` of everything notebook 02 downloads in online mode, for :func:`hwlib.resolve_source`.
NETWORK_VISUALIZATION_ASSETS = assets.NETWORK_VISUALIZATION_ASSETS


@dataclass(frozen=True)
class SampleImages:
    """images ``(N, H, W, 3)`` uint8; labels ``(N,)`` int64; class_names indexed by label;
    masks ``(N, H, W)`` bool (True on the object) or ``None`` when unknown (online); source "online"/"offline"."""
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    masks: np.ndarray | None
    source: str

    @property
    def image_size(self) -> int:
        """Side length of the (square) images."""
        return int(self.images.shape[1])

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _read_npz(path) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (N, H, W, 3) uint8 and ``y`` (N,) of CS231n's file. Its third key, ``label_map`` (class names), is a
    pickled object: never unpickled here (torchvision's class names are used instead)."""
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["X"], f["y"]
    if images.ndim != 4 or images.shape[-1] != 3 or labels.shape != images.shape[:1]:
        raise ValueError(f"expected X (N, H, W, 3) and y (N,), got X {images.shape} and y {labels.shape}.")
    if images.min() < 0 or images.max() > 255 or labels.min() < 0 or labels.max() >= 1000:
        raise ValueError("expected pixel values in 0..255 and ImageNet labels in 0..999.")
    return images.astype(np.uint8), labels.astype(np.int64)


def _online_images() -> tuple[np.ndarray, np.ndarray, tuple[str, ...], None]:
    import torchvision

    path = fetch(IMAGENET_VAL_URL, IMAGENET_VAL_FILE, desc="25 ImageNet validation images", verify=_read_npz)
    images, labels = load_cached(path, _read_npz, "ImageNet sample images")
    names = tuple(torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"])
    return images, labels, names, None


def _offline_images():
    from .shapes import sample_images

    s = sample_images(25)
    return s.images, s.labels, tuple(s.class_names), s.masks


def load_sample_images(num: int | None = None, source: str | None = None) -> SampleImages:
    """The images notebook 02 explains (CS231n's ``load_imagenet_val`` counterpart).

    Args:
        num: how many (1..25; default all 25).
        source: ``"online"``, ``"offline"``, ``"auto"`` or ``None`` (= ``$HWLIB_SOURCE`` or ``"auto"``);
            use the same source as for :func:`hwlib.load_squeezenet` so labels and class names match.
    """
    if num is not None and (isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 25):
        raise ValueError(f"num: expected an int between 1 and 25 (or None for all), got {num!r}.")
    (images, labels, names, masks), resolved = resolve_with_fallback(
        source, _online_images, _offline_images, "sample images")
    k = len(labels) if num is None else num
    return SampleImages(images[:k], labels[:k], names, None if masks is None else masks[:k], resolved)
