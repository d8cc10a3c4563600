"""Handwritten digits for notebooks 01 and 03, as 28x28 grayscale images in [0, 1].

online:  MNIST (60,000 training / 10,000 test images), the four idx files downloaded once into the hwlib cache
         through :func:`hwlib.sources.fetch` and parsed here (split "train" = MNIST training set, "val" = MNIST
         test set).
offline: the 1,797 real handwritten digits bundled with scikit-learn (``sklearn.datasets.load_digits``, 8x8,
         values 0..16), upsampled to 20x20 (bilinear, antialiased), scaled to [0, 1] and padded to 28x28 so the
         digit sits in the centre like an MNIST digit; a fixed, seeded, stratified 80/20 train/val split.

Either way you get a :class:`DigitImages`, which is also a ``torch.utils.data.Dataset`` of ``(image, label)``.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass

import numpy as np
import torch

from .. import assets
from ..sources import OfflineError, fetch, load_cached, resolve_with_fallback

DIGIT_CLASS_NAMES = tuple(str(d) for d in range(10))
SPLITS = ("train", "val")
IMAGE_SIZE = 28
OFFLINE_DIGIT_SIZE = 20          # MNIST digits fit a 20x20 box centred in 28x28
OFFLINE_VAL_FRACTION = 0.2
OFFLINE_SPLIT_SEED = 0

MNIST_MIRROR = assets.MNIST_BASE_URL
# (file, md5) as published with MNIST (and listed by torchvision.datasets.MNIST): the entries in hwlib.assets.
MNIST_FILES = {split: tuple((a.filename.rsplit("/", 1)[-1], a.md5) for a in files)
               for split, files in assets.MNIST.items()}
#: ``(url, cache filename)`` of everything the online digits download, for :func:`hwlib.resolve_source`.
DIGITS_ASSETS = assets.DIGITS_ASSETS


@dataclass(frozen=True, eq=False)
class DigitImages(torch.utils.data.Dataset):
    """images ``(N, 1, 28, 28)`` float32 in [0, 1]; labels ``(N,)`` int64 in 0..9; source "online"/"offline";
    class_names ``("0", ..., "9")``. ``dataset[i]`` is ``(image (1, 28, 28), label)``."""
    images: torch.Tensor
    labels: torch.Tensor
    source: str
    class_names: tuple[str, ...] = DIGIT_CLASS_NAMES

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


# ----------------------------------------------------------------------------------------------- offline
def upsample_digits(small: np.ndarray, size: int = OFFLINE_DIGIT_SIZE, canvas: int = IMAGE_SIZE) -> torch.Tensor:
    """scikit-learn digits ``(N, 8, 8)`` with values 0..16 -> ``(N, 1, canvas, canvas)`` float32 in [0, 1].

    Each digit is resized to ``size x size`` (bilinear, antialiased) and centred on a black canvas.
    """
    x = torch.as_tensor(np.asarray(small, dtype=np.float32) / 16.0).unsqueeze(1)            # N, 1, 8, 8
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                                        antialias=True).clamp_(0.0, 1.0)                  # N, 1, size, size
    pad = canvas - size
    before = pad // 2
    return torch.nn.functional.pad(x, (before, pad - before, before, pad - before)).contiguous()


def stratified_split(labels: np.ndarray, val_fraction: float = OFFLINE_VAL_FRACTION,
                     seed: int = OFFLINE_SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``: within each class a seeded permutation, the first ``val_fraction`` to val."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(val_fraction * len(idx)))
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits ``(images (1797, 8, 8) float64 in 0..16, labels (1797,) int64)``, as
    ``sklearn.datasets.load_digits`` returns them, read straight from the file scikit-learn ships
    (``sklearn/datasets/data/digits.csv.gz``: 64 pixels then the label per row) without importing scikit-learn,
    which alone takes over a second; scikit-learn's own loader where that file is not found."""
    spec = importlib.util.find_spec("sklearn")
    folder = spec.submodule_search_locations if spec is not None else None
    path = os.path.join(folder[0], "datasets", "data", "digits.csv.gz") if folder else ""
    if not path or not os.path.isfile(path):
        from sklearn.datasets import load_digits as load

        bunch = load()
        return bunch.images, bunch.target.astype(np.int64)
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


def _offline_digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = sklearn_digits()
    train, val = stratified_split(labels)
    idx = train if split == "train" else val
    return upsample_digits(images[idx]), torch.from_numpy(labels[idx])


# ------------------------------------------------------------------------------------------------ online
def _read_idx(path, magic: int, ndim: int) -> np.ndarray:
    """Parse one gzipped idx file (big-endian header: magic, then ``ndim`` sizes; then uint8 data)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = np.frombuffer(raw[: 4 * (ndim + 1)], dtype=">i4")
    if int(header[0]) != magic:
        raise OfflineError(f"{path}: not an MNIST idx file (magic {int(header[0])}, expected {magic}); delete it "
                           "from the cache and try again.")
    shape = tuple(int(s) for s in header[1:])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 * (ndim + 1))
    if data.size != int(np.prod(shape)):
        raise OfflineError(f"{path}: truncated MNIST file; delete it from the cache and try again.")
    return data.reshape(shape)


def _fetch_checked(name: str, md5: str, magic: int, ndim: int):
    """One MNIST file in the cache (``mnist/<name>``): checked against its published md5 and parsed before it
    enters the cache, and checked again before a cached copy is used."""
    return fetch(MNIST_MIRROR + name, "mnist/" + name, md5=md5, desc=f"MNIST {name}",
                 verify=lambda p: _read_idx(p, magic=magic, ndim=ndim))


def _online_digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    (img_name, img_md5), (lab_name, lab_md5) = MNIST_FILES[split]
    images = load_cached(_fetch_checked(img_name, img_md5, 2051, 3), lambda p: _read_idx(p, magic=2051, ndim=3),
                         f"MNIST file {img_name}")
    labels = load_cached(_fetch_checked(lab_name, lab_md5, 2049, 1), lambda p: _read_idx(p, magic=2049, ndim=1),
                         f"MNIST file {lab_name}")
    if len(images) != len(labels):
        raise OfflineError(f"MNIST {split}: {len(images)} images but {len(labels)} labels in the cache; delete "
                           f"{img_name} and {lab_name} from it and try again.")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)                    # N, 1, 28, 28
    return x, torch.from_numpy(labels.astype(np.int64))


def load_digits(source: str | None = None, split: str = "train") -> DigitImages:
    """Handwritten digits as a Dataset of ``(image (1, 28, 28) float32 in [0, 1], label int64)``.

    Args:
        source: ``"online"`` (MNIST), ``"offline"`` (scikit-learn's digits at 28x28), ``"auto"`` or ``None``
            (= ``$HWLIB_SOURCE`` or ``"auto"``); same contract as :func:`hwlib.load_squeezenet`.
        split: ``"train"`` or ``"val"`` (offline: a fixed stratified 80/20 split of the 1,797 digits;
            online: MNIST's training and test sets).

    Returns:
        :class:`DigitImages` with ``images (N, 1, 28, 28)``, ``labels (N,)``, ``source`` and ``class_names``.

    Example:
        >>> train = load_digits("offline", "train")
        >>> train.images.shape, len(train)
        (torch.Size([1438, 1, 28, 28]), 1438)
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected 'train' or 'val', got {split!r}.")
    (images, labels), resolved = resolve_with_fallback(
        source, lambda: _online_digits(split), lambda: _offline_digits(split), "digits")
    return DigitImages(images=images, labels=labels, source=resolved)
