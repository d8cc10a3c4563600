"""A synthetic, deterministic image dataset: one shape per image on a textured background, with its mask.

The offline stand-in for ImageNet in notebook 02: the class is the object's *shape* alone (see ``CLASS_NAMES``),
while its colour, size, position, rotation, aspect and the background (gradients, stripes, plaid, checkerboards,
smooth colour noise, blobs) are random and independent of the class, so a classifier must look at the outline.
The object's colour keeps a distance of at least ``MIN_CONTRAST`` (RGB in [0, 1]) from the half-space that holds every background colour, so it is always visible, and
the mask says exactly where it is (used to check that saliency maps look at the object).

    >>> data = make_synthetic_dataset(100, seed=0)
    >>> data.images.shape, data.labels.shape, data.masks.shape
    ((100, 128, 128, 3), (100,), (100, 128, 128))

Everything comes from one ``np.random.default_rng(seed)`` stream; shapes and textures are computed in float64 and
composited in (exactly rounded) float32, so the same ``(n, seed, size)`` gives the same bytes on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shape_sdfs import SHAPES

CLASS_NAMES: tuple[str, ...] = tuple(SHAPES)
IMAGE_SIZE = 128
#: Seed of :func:`sample_images`; ``hwlib.train_offline`` refuses to train or evaluate on it.
SAMPLE_SEED = 20_250_025
MIN_CONTRAST = 0.3
BACKGROUNDS = ("gradient", "stripes", "plaid", "checkerboard", "smooth_noise", "blobs")
_CHUNK = 128  # images rendered at once (bounds memory to ~100 MB)


@dataclass(frozen=True)
class SyntheticImages:
    """images ``(N, H, W, 3)`` uint8; labels ``(N,)`` int64 indexing ``class_names``;
    masks ``(N, H, W)`` bool, True on the object."""
    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r} ({type(value).__name__}).")
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}.")
    return int(value)


def _pick_colours(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Object colours ``(n, 3)`` (uniform, independent of the class) and background palettes ``(n, 3, 3)`` (three
    colours each), RGB in [0, 1].

    Each palette lies around a target colour at least 0.6 away from the object's, and every palette colour c
    satisfies ``(c - obj) . u >= MIN_CONTRAST`` with ``u`` the unit vector from the object colour to the target, so
    every mix of palette colours (i.e. every background pixel) keeps that distance from the object colour."""
    obj = rng.uniform(size=(n, 3))
    cand = rng.uniform(size=(n, 16, 3))
    ok = np.linalg.norm(cand - obj[:, None], axis=-1) >= 0.6
    first = cand[np.arange(n), ok.argmax(axis=1)]
    farthest_corner = (obj < 0.5).astype(np.float64)
    target = np.where(ok.any(axis=1)[:, None], first, farthest_corner)
    u = (target - obj) / np.linalg.norm(target - obj, axis=-1, keepdims=True)
    palette = np.clip(target[:, None] + rng.uniform(-0.4, 0.4, size=(n, 3, 3)), 0.0, 1.0)
    valid = np.einsum("npc,nc->np", palette - obj[:, None], u) >= MIN_CONTRAST
    return obj, np.where(valid[..., None], palette, target[:, None])


def _mix(palette: np.ndarray, w1: np.ndarray, w2: np.ndarray | None = None) -> np.ndarray:
    """Convex mix of a palette ``(m, 3, 3)`` with weights ``(m, H, W)`` in [0, 1] -> float32 ``(m, H, W, 3)``."""
    c0, c1, c2 = (palette[:, None, None, k].astype(np.float32) for k in range(3))
    w1 = w1.astype(np.float32)
    out = c0 + w1[..., None] * (c1 - c0)
    if w2 is not None:
        out += (w2.astype(np.float32) * (1.0 - w1))[..., None] * (c2 - c0)
    return out


def _normalize(field: np.ndarray) -> np.ndarray:
    """Min-max rescale each image ``(m, H, W)`` of a field to [0, 1]."""
    low, high = field.min(axis=(1, 2), keepdims=True), field.max(axis=(1, 2), keepdims=True)
    return (field - low) / np.maximum(high - low, 1e-9)


def _background(kind: str, p: np.ndarray, waves: np.ndarray, blobs: np.ndarray, palette: np.ndarray,
                t: np.ndarray) -> np.ndarray:
    """Backgrounds ``(m, H, W, 3)`` in [0, 1] of one family.

    p: ``(m, 8)`` uniforms; waves: ``(m, 2, 6, 4)``; blobs: ``(m, 2, 5, 4)``; palette ``(m, 3, 3)``;
    t: ``(S,)`` pixel-centre coordinates in [-1, 1] along either axis."""
    x, y = t[None, None, :], t[None, :, None]
    col = [c[:, None, None] for c in p.T]  # eight (m, 1, 1) parameters
    theta, freq, phase, sharp = 2 * np.pi * col[0], 1.5 + 6.5 * col[1], 2 * np.pi * col[2], 0.5 + 9.5 * col[3]
    along = x * np.cos(theta) + y * np.sin(theta)
    across = -x * np.sin(theta) + y * np.cos(theta)

    def square_wave(s):  # a sine hardened by `sharp`, mapped to [0, 1]
        return 0.5 + 0.5 * np.tanh(sharp * s) / np.tanh(sharp)

    if kind == "gradient":
        return _mix(palette, np.clip(0.5 + along * (0.3 + 0.7 * col[1]), 0.0, 1.0))
    if kind == "stripes":
        return _mix(palette, square_wave(np.sin(np.pi * freq * along + phase)))
    if kind == "plaid":
        freq2 = 1.5 + 6.5 * col[4]
        return _mix(palette, square_wave(np.sin(np.pi * freq * along + phase)),
                    square_wave(np.sin(np.pi * freq2 * across + 2 * np.pi * col[5])))
    if kind == "checkerboard":
        freq = 2.0 + 5.0 * col[1]
        return _mix(palette, square_wave(np.sin(np.pi * freq * along + phase) * np.sin(np.pi * freq * across)))
    if kind == "smooth_noise":  # per channel, six random plane waves of up to 2 cycles across the image
        w = [waves[..., j, None] for j in range(4)]  # four (m, 2, 6, 1) parameters
        # sin(a x + b y + c) = sin(a x) cos(b y + c) + cos(a x) sin(b y + c): only 1-D sines are needed
        ax, by = np.pi * (4 * w[0] - 2) * t, np.pi * (4 * w[1] - 2) * t + 2 * np.pi * w[2]
        amp = w[3]
        field = (np.einsum("mckh,mckw->mchw", amp * np.cos(by), np.sin(ax))
                 + np.einsum("mckh,mckw->mchw", amp * np.sin(by), np.cos(ax)))
        return _mix(palette, _normalize(field[:, 0]), _normalize(field[:, 1]))
    if kind == "blobs":  # per channel, five Gaussian bumps (separable: exp(-x^2 - y^2) = exp(-x^2) exp(-y^2))
        b = [blobs[..., j, None] for j in range(4)]  # four (m, 2, 5, 1) parameters
        centre_x, centre_y, sigma = 2.4 * b[0] - 1.2, 2.4 * b[1] - 1.2, 0.1 + 0.4 * b[2]
        gx, gy = np.exp(-((t - centre_x) ** 2) / (2 * sigma**2)), np.exp(-((t - centre_y) ** 2) / (2 * sigma**2))
        field = np.einsum("mckh,mckw->mchw", (0.5 + 0.5 * b[3]) * gy, gx)
        return _mix(palette, np.clip(field[:, 0], 0, 1), np.clip(field[:, 1], 0, 1))
    raise AssertionError(kind)


def _render(params: dict, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one chunk of ``m`` images from its parameters -> uint8 ``(m, H, W, 3)``, bool masks ``(m, H, W)``."""
    m = params["labels"].shape[0]
    grid = (np.arange(size, dtype=np.float64) + 0.5)
    py, px = grid[None, :, None], grid[None, None, :]  # pixel centres, (1, H, 1) and (1, 1, W)

    image = np.empty((m, size, size, 3), dtype=np.float32)
    for f, kind in enumerate(BACKGROUNDS):
        idx = np.flatnonzero(params["family"] == f)
        if idx.size:
            image[idx] = _background(kind, params["bg"][idx], params["waves"][idx], params["blobs"][idx],
                                     params["palette"][idx], 2 * grid / size - 1)

    # Object frame: centred, rotated, stretched, in units of the object's radius.
    r, c, s = (params[k][:, None, None] for k in ("radius", "cos", "sin"))
    dx, dy = (px - params["cx"][:, None, None]) / r, (py - params["cy"][:, None, None]) / r
    a = params["aspect"][:, None, None]
    u, v = (c * dx + s * dy) / a, (-s * dx + c * dy) * a
    dist = np.empty((m, size, size))
    for label, shape in enumerate(SHAPES.values()):
        idx = np.flatnonzero(params["labels"] == label)
        if idx.size:
            dist[idx] = shape(u[idx], v[idx])
    # Compositing is plain float32 arithmetic (exactly rounded everywhere); the transcendental functions above
    # ran in float64, so their last-bit differences between machines do not reach the uint8 pixels.
    alpha = np.clip(0.5 - dist * r, 0.0, 1.0).astype(np.float32)[..., None]  # one-pixel anti-aliased edge
    shade = (1.0 + params["shade"][:, None, None] * u).astype(np.float32)[..., None]  # faint light from one side
    colour = np.clip(params["colour"][:, None, None].astype(np.float32) * shade, 0.0, 1.0)
    image += alpha * (colour - image)
    image += params["noise"][:, None, None, None].astype(np.float32) * rng.standard_normal(image.shape, np.float32)
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8), dist <= 0


def make_synthetic_dataset(n: int, seed: int, size: int = IMAGE_SIZE) -> SyntheticImages:
    """``n`` images of random shapes on random textured backgrounds, balanced over ``CLASS_NAMES``.

    Args:
        n: number of images (>= 1); each class gets ``n // K`` or ``n // K + 1`` of them, in shuffled order.
        seed: int >= 0 for ``np.random.default_rng``; the same ``(n, seed, size)`` gives identical arrays.
        size: side of the square images in pixels (>= 32).

    Returns:
        :class:`SyntheticImages` with images ``(n, size, size, 3)`` uint8, labels ``(n,)`` int64, masks
        ``(n, size, size)`` bool and the class names.
    """
    n = _check_int(n, "make_synthetic_dataset: n", 1)
    seed = _check_int(seed, "make_synthetic_dataset: seed", 0)
    size = _check_int(size, "make_synthetic_dataset: size", 32)
    rng = np.random.default_rng(seed)
    k = len(CLASS_NAMES)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)
    radius = rng.uniform(0.14, 0.28, n) * size  # the object spans 28% to 56% of the side
    angle = rng.uniform(0.0, 2 * np.pi, n)
    colour, palette = _pick_colours(rng, n)
    params = {
        "labels": labels,
        "radius": radius, "cos": np.cos(angle), "sin": np.sin(angle),
        "aspect": np.exp(rng.uniform(np.log(0.87), np.log(1.15), n)),
        "cx": rng.uniform(1.15 * radius, size - 1.15 * radius),
        "cy": rng.uniform(1.15 * radius, size - 1.15 * radius),
        "colour": colour, "palette": palette,
        "shade": rng.uniform(-0.08, 0.08, n),
        "noise": rng.uniform(0.0, 0.035, n),
        "family": rng.integers(0, len(BACKGROUNDS), n),
        "bg": rng.uniform(size=(n, 8)), "waves": rng.uniform(size=(n, 2, 6, 4)), "blobs": rng.uniform(size=(n, 2, 5, 4)),
    }
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    for start in range(0, n, _CHUNK):
        chunk = {key: value[start:start + _CHUNK] for key, value in params.items()}
        images[start:start + _CHUNK], masks[start:start + _CHUNK] = _render(chunk, rng, size)
    return SyntheticImages(images, params["labels"], masks, CLASS_NAMES)


def sample_images(n: int = 25) -> SyntheticImages:
    """The fixed images notebooks show offline (the stand-in for CS231n's 25 ImageNet validation images).

    Generated with ``SAMPLE_SEED`` at ``IMAGE_SIZE``; ``sample_images(k)`` is the first ``k`` of
    ``sample_images(25)`` for ``k <= 25``.
    """
    n = _check_int(n, "sample_images: n", 1)
    full = make_synthetic_dataset(max(n, 25), SAMPLE_SEED)
    return SyntheticImages(full.images[:n], full.labels[:n], full.masks[:n], full.class_names)
