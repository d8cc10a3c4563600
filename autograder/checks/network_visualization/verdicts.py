"""Notebook 02's verdict helpers shared by the verdicts of its three functions (trusted side)."""
from __future__ import annotations

import numpy as np

from ...check import Figure


def _heatmap(title: str, student: np.ndarray, reference: np.ndarray) -> Figure:
    """A heat-map figure. The feedback page draws the reference side only as its coarse view (block means at a few
    levels, ``Figure.reference_safe`` left False): where the reference is bright, not values that would pass."""
    return Figure(title, np.nan_to_num(student, nan=0.0, posinf=0.0, neginf=0.0), reference, "heatmap")


def _finite(array) -> bool:
    return bool(np.isfinite(np.asarray(array, dtype=np.float64)).all())

