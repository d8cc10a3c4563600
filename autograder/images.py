"""Pictures for the feedback pages: normalized images back to pixels, maps to colours, both to base64 PNG."""
from __future__ import annotations

import base64
import io

import numpy as np


def deprocess(x: np.ndarray) -> np.ndarray:
    """A normalized image ``(1, 3, H, W)`` or ``(3, H, W)`` float -> ``(H, W, 3)`` uint8 (clipped, not rescaled)."""
    from hwlib import SQUEEZENET_MEAN, SQUEEZENET_STD

    x = np.asarray(x, dtype=np.float32).reshape(3, *np.shape(x)[-2:]).transpose(1, 2, 0)
    x = np.nan_to_num(x * SQUEEZENET_STD + SQUEEZENET_MEAN, nan=0.0)
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def colorize(heatmap: np.ndarray, vmax: float) -> np.ndarray:
    """A map ``(H, W)`` of values in ``[0, vmax]`` -> ``(H, W, 3)`` uint8 with the 'inferno' colour map."""
    from matplotlib import colormaps

    scaled = np.clip(np.nan_to_num(np.asarray(heatmap, np.float64), nan=0.0) / (vmax or 1.0), 0, 1)
    return (colormaps["inferno"](scaled)[..., :3] * 255).round().astype(np.uint8)


def png_base64(rgb: np.ndarray, min_side: int = 0) -> str:
    """``(H, W, 3)`` uint8 -> base64 PNG, enlarged (nearest neighbour) so the short side is at least ``min_side``."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    factor = max(1, -(-min_side // max(1, min(image.size))))
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


MAX_SIDE = 1024        # a picture larger than this (or of another shape) is not drawn
COARSE_CELLS = 8       # the coarse view of a reference picture: at most this many blocks per side ...
COARSE_LEVELS = 4      # ... each of one of this many levels (per channel)


def _checked(array: np.ndarray, kind: str) -> np.ndarray:
    array = np.asarray(array)
    shape_ok = array.ndim == 2 if kind == "heatmap" else (array.ndim == 3 and array.shape[2] == 3)
    if not shape_ok or not 0 < min(array.shape[:2]) <= max(array.shape[:2]) <= MAX_SIDE or array.dtype.kind not in "biuf":
        raise ValueError(f"cannot draw an array of shape {array.shape} and dtype {array.dtype} as {kind!r}")
    return array


def coarse(image: np.ndarray, cells: int = COARSE_CELLS, levels: int = COARSE_LEVELS) -> np.ndarray:
    """A coarse view of a picture ``(H, W)`` or ``(H, W, C)``: the mean of each of at most ``cells`` x ``cells``
    blocks, rounded to ``levels`` levels between the picture's min and max, at the original size. It keeps where
    a picture is bright, not the pixels that an answer is checked by."""
    x = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    h, w = x.shape[:2]
    rows, cols = np.array_split(np.arange(h), min(cells, h)), np.array_split(np.arange(w), min(cells, w))
    out = np.empty_like(x)
    for r in rows:
        for c in cols:
            out[r[0]:r[-1] + 1, c[0]:c[-1] + 1] = x[r[0]:r[-1] + 1, c[0]:c[-1] + 1].mean(axis=(0, 1))
    low, high = float(out.min()), float(out.max())
    if high > low:
        out = low + np.round((out - low) / (high - low) * (levels - 1)) / (levels - 1) * (high - low)
    return out.astype(np.asarray(image).dtype if np.asarray(image).dtype.kind == "f" else np.float64)


def figure_pngs(student: np.ndarray, reference: np.ndarray, kind: str, reference_safe: bool = False) -> tuple[str, str]:
    """The two sides of a :class:`~autograder.check.Figure` as base64 PNGs; heatmaps share the reference's scale
    (so a map twice as bright as the reference looks saturated). The reference is drawn as its :func:`coarse`
    view unless ``reference_safe``. Raises ``ValueError`` for arrays that are not pictures of at most
    ``MAX_SIDE`` pixels a side."""
    student, reference = _checked(student, kind), _checked(reference, kind)
    if kind == "heatmap":
        finite = np.abs(reference[np.isfinite(reference)])
        vmax = float(finite.max()) if finite.size else 1.0
        shown = np.abs(reference) if reference_safe else coarse(np.abs(reference))
        return png_base64(colorize(np.abs(student), vmax)), png_base64(colorize(shown, vmax))
    shown = reference if reference_safe else np.clip(coarse(reference), 0, 255).round().astype(np.uint8)
    return png_base64(np.clip(np.nan_to_num(student), 0, 255).astype(np.uint8)), png_base64(shown)
