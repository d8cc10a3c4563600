"""Turning what a student's function returned into plain arrays, and the comparisons every check uses.

``to_array`` runs on the student's side (inside the probe); everything else runs in a trusted process.
"""
from __future__ import annotations

import numpy as np

from .check import SubmissionError

_TENSOR_DEVICES = ("cpu", "cuda")


def describe(value) -> str:
    """A short description of any value for messages: ``Tensor (4, 128, 128) float32 on cpu``, ``None``..."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"Tensor {tuple(value.shape)} {str(value.dtype).replace('torch.', '')} on {value.device.type}"
    if isinstance(value, np.ndarray):
        return f"numpy array {value.shape} {value.dtype}"
    if value is None:
        return "None"
    return type(value).__name__


def to_array(value, what: str, dtype=np.float32) -> np.ndarray:
    """``value`` (a torch.Tensor on the CPU or a GPU) as a numpy array of ``dtype``.

    Raises:
        SubmissionError: ``value`` is not a tensor, lives on an unusable device (e.g. ``meta``), or has a dtype
            that cannot become ``dtype``.
    """
    import torch

    if not isinstance(value, torch.Tensor):
        raise SubmissionError(f"{what}: expected a torch.Tensor, got {describe(value)}.")
    if value.device.type not in _TENSOR_DEVICES:
        raise SubmissionError(f"{what}: expected a tensor on the CPU or a GPU (like the input), got one on device "
                              f"{value.device.type!r}.")
    if value.is_complex() or value.dtype == torch.bool:
        raise SubmissionError(f"{what}: expected a real floating-point tensor, got {describe(value)}.")
    return value.detach().to("cpu").numpy().astype(dtype, copy=True)


def flag(value: bool) -> np.ndarray:
    """A boolean as a 0-d array (what crosses back from the probe)."""
    return np.asarray(bool(value))


def shape_problem(array: np.ndarray | None, expected: tuple[int, ...], what: str) -> str | None:
    """A message when ``array`` is missing, has the wrong shape, or holds NaN/inf; ``None`` when it is usable."""
    if array is None:
        return f"{what}: no output came back."
    if tuple(array.shape) != tuple(expected):
        return f"{what}: expected shape {tuple(expected)}, got {tuple(array.shape)}."
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        return f"{what}: contains {bad} NaN or infinite value{'s' if bad != 1 else ''}."
    return None


def require_finite(array, what: str) -> np.ndarray:
    """``array`` as a float64 numpy array when every value is finite; otherwise raises
    :class:`~autograder.check.SubmissionError` saying how many values of ``what`` are NaN or infinite.

    For verify functions (trusted side), on anything computed from the student's arrays before a comparison that
    NaN would fool (``nan < x`` is False): ``scores = require_finite(ctx.scores(image), "the model's scores on
    your image")``. ``grade.verify_all`` turns the exception into a failed check with that message."""
    values = np.asarray(array, dtype=np.float64)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise SubmissionError(f"{what} contains {bad} NaN or infinite value{'s' if bad != 1 else ''} (values too "
                              "large or undefined): every value must be a finite number.")
    return values


def max_relative_error(student: np.ndarray, reference: np.ndarray) -> float:
    """``max |student - reference| / max |reference|`` in float64 (0 when both are all zero)."""
    s, r = student.astype(np.float64), reference.astype(np.float64)
    scale = float(np.abs(r).max()) if r.size else 0.0
    diff = float(np.abs(s - r).max()) if r.size else 0.0
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def norm_relative_error(student: np.ndarray, reference: np.ndarray) -> float:
    """``||student - reference||_2 / ||reference||_2`` in float64 (0 when both are all zero)."""
    s, r = student.astype(np.float64), reference.astype(np.float64)
    scale = float(np.linalg.norm(r))
    diff = float(np.linalg.norm(s - r))
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two arrays taken as flat vectors (0 when either is all zero)."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0
