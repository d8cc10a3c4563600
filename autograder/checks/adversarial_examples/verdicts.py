"""Notebook 03's verdict helpers shared by the verdicts of its five functions (trusted side): usable attack
outputs, the caller's image, pixel matches, the budget and the pixel range, coarse change pictures."""
from __future__ import annotations

import numpy as np

from ...check import Figure, Verdict
from .._kit import autograd_problem, input_problem, output_problem
from .context import COARSE_BLOCK, MATCH, SLACK


def _input_problem(student, x: np.ndarray) -> str | None:
    """The caller's image left as it was (see :func:`~.._kit.input_problem`), and no autograd state left behind."""
    return input_problem(student, x, "image") or autograd_problem(student)


def _coarse(heatmap: np.ndarray, block: int = COARSE_BLOCK) -> np.ndarray:
    """``heatmap`` ``(H, W)`` with every ``block`` x ``block`` block replaced by its mean."""
    h, w = heatmap.shape
    hb, wb = h - h % block, w - w % block
    out = np.array(np.nan_to_num(heatmap, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float64)
    blocks = out[:hb, :wb].reshape(hb // block, block, wb // block, block).mean(axis=(1, 3))
    out[:hb, :wb] = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return out


def _change_figure(title: str, student: np.ndarray, reference: np.ndarray, x: np.ndarray) -> Figure:
    """|change| (max over channels) of the first image, student's and reference's, both as 8 x 8-block means."""
    s = np.abs(np.nan_to_num(student[0].astype(np.float64) - x[0], nan=0.0, posinf=0.0, neginf=0.0)).max(0)
    r = np.abs(reference[0].astype(np.float64) - x[0]).max(0)
    return Figure(f"{title}: |change| (8x8-pixel block means)", _coarse(s), _coarse(r), "heatmap")


def _unchanged(s: np.ndarray, x: np.ndarray) -> bool:
    return bool(np.array_equal(s, x)) or float(np.abs(s.astype(np.float64) - x).max()) <= 1e-7


def _attack_output(student, key: str, x: np.ndarray, what: str) -> str | None:
    """Usable (see :func:`_output_problem`) and not the input returned unchanged."""
    problem = output_problem(student, key, x.shape, what)
    if problem:
        return problem
    if _unchanged(student[key], x):
        return f"{what} the input unchanged: the attack must change the image."
    return None


def _signed_match(s: np.ndarray, r: np.ndarray, x: np.ndarray) -> float:
    """Fraction of pixels whose change (after clamping the student's image to [0, 1]) equals the reference's."""
    delta_s = np.clip(s.astype(np.float64), 0, 1) - x
    return float((np.abs(delta_s - (r.astype(np.float64) - x)) <= MATCH).mean())


def _budget_verdict(student, key: str, x: np.ndarray, eps: float, what: str, fix: str) -> Verdict:
    problem = _attack_output(student, key, x, what)
    if problem:
        return Verdict(False, problem)
    change = float(np.abs(student[key].astype(np.float64) - x).max())
    if change > eps + SLACK:
        return Verdict(False, f"a pixel changed by {change * 255:.2f}/255 with a budget of eps = {eps * 255:.0f}/255: "
                              f"{fix}")
    return Verdict(True, f"no pixel changed by more than eps (largest change {change * 255:.2f}/255).")


def _range_verdict(student, key: str, x: np.ndarray, what: str, fix: str) -> Verdict:
    problem = _attack_output(student, key, x, what)
    if problem:
        return Verdict(False, problem)
    s = student[key]
    low, high = float(s.min()), float(s.max())
    if low < -SLACK or high > 1 + SLACK:
        return Verdict(False, f"pixel values range from {low:.4f} to {high:.4f}, outside [0, 1]: {fix}")
    return Verdict(True, "every pixel value lies in [0, 1].")

