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


def figure_pngs(student: np.ndarray, reference: np.ndarray, kind: str) -> tuple[str, str]:
    """The two sides of a :class:`~autograder.check.Figure` as base64 PNGs; heatmaps share the reference's scale
    (so a map twice as bright as the reference looks saturated)."""
    if kind == "heatmap":
        finite = np.abs(reference[np.isfinite(reference)])
        vmax = float(finite.max()) if finite.size else 1.0
        return png_base64(colorize(np.abs(student), vmax)), png_base64(colorize(np.abs(reference), vmax))
    return png_base64(student), png_base64(reference)
