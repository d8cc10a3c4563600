"""Notebook 04's verdict helpers shared by the verdicts of its functions (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import shape_problem
from ...check import Tolerance, Verdict
from .._kit import input_problem
from .context import PLAUSIBLE, Context


def _usable(student, key: str, shape, what: str) -> str | None:
    """A message when ``student[key]`` is missing, misshapen, non-finite, implausibly large or not the input's
    dtype."""
    value = student.get(key)
    problem = shape_problem(value, shape, what)
    if problem:
        return problem
    if float(np.abs(value).max(initial=0.0)) > PLAUSIBLE:
        return f"{what}: values up to {float(np.abs(value).max()):.3g}, far outside any image or map."
    if not bool(student.get(f"{key}_dtype_ok", True)):
        return f"{what}: expected the input's dtype (float32); do not convert the result."
    return None


def _untouched(student, x: np.ndarray, key: str = "x") -> Verdict:
    problem = input_problem(student, x, key, prefix=key)
    if problem:
        return Verdict(False, problem)
    return Verdict(True, f"{key} is left as it was.")


def _normalize(maps: np.ndarray, axes) -> np.ndarray:
    maps = maps.astype(np.float64)
    low, high = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    return (maps - low) / np.where(high > low, high - low, 1.0)

def _verify_untouched(key: str, image):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        return _untouched(student, image(ctx).numpy(), key)
    return verify

