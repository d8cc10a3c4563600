"""Notebook 02's verdicts on ``compute_saliency_maps`` (trusted side)."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Tolerance, Verdict
from .._kit import input_problem, output_problem
from .context import SALIENCY_BATCH, Context
from .verdicts import _finite, _heatmap


def _saliency_candidates(ctx: Context, index: slice) -> dict[str, np.ndarray]:
    """Maps that known mistakes produce on the probe's images (trusted gradients), name -> (N, H, W)."""
    def compute():
        X = ctx.X[index].numpy()
        y = ctx.y[index].numpy()
        scores, g = ctx.gradients(X, y)
        _, g_loss = ctx.gradients(X, y, "log_softmax")
        prob = np.exp(scores - scores.max(1, keepdims=True))
        prob = (prob / prob.sum(1, keepdims=True))[np.arange(len(y)), y]
        return {
            "it is the sum of |gradient| over the 3 colour channels: take their maximum instead.":
                np.abs(g).sum(1),
            "it is the mean of |gradient| over the 3 colour channels: take their maximum instead.":
                np.abs(g).mean(1),
            "it is the absolute value of the largest signed gradient over the channels: take the absolute value "
            "first, then the maximum over the channels.": np.abs(g.max(1)),
            "it is the gradient of the cross-entropy loss: use the correct-class score (the logit) itself.":
                np.abs(g_loss).max(1),
            "it is the gradient of the softmax probability: use the correct-class score (the logit) itself.":
                np.abs(g_loss).max(1) * prob[:, None, None],
            "it looks at colour channel 0 only: take the maximum of |gradient| over the 3 channels.":
                np.abs(g[:, 0]),
        }
    return ctx.memo(("saliency candidates", index.start, index.stop), compute)


def _saliency_hint(s: np.ndarray, r: np.ndarray, ctx: Context, index: slice) -> str:
    for hint, candidate in _saliency_candidates(ctx, index).items():
        if _finite(candidate) and norm_relative_error(s, candidate) < 0.02:
            return hint
    if len(r) > 1 and norm_relative_error(s * len(r), r) < 0.02:
        return ("it is the reference divided by the batch size: sum the correct-class scores over the batch, do "
                "not average them.")
    if (s < 0).any():
        return "it has negative values: take the absolute value of the gradient."
    if not s.any():
        return "it is all zeros: differentiate the correct-class scores with respect to the input images."
    return ("use the correct-class score (logit; not softmax or a loss) of each image, take |gradient| and its "
            "maximum over the 3 colour channels.")


def _verify_saliency(index: slice):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        """The map matches the reference within ``tol.rtol`` relative L2 error (a float rounding difference can
        flip one max-pool tie or ReLU and move single pixels, every conceptual mistake moves the whole map).
        Known correct, full marks: ``torch.autograd.grad`` or ``.backward()`` on a copy, CS231n's starter line
        ``X.requires_grad_()`` on the caller's tensor (judged by the side-effect check only), ``scores.gather``
        or fancy indexing, ``amax`` or ``max(...)[0]``. Known wrong, lose points: the batch mean of the scores
        (batch only), sum or mean over the channels, no absolute value, a loss or a probability instead of the
        score. Pictures: the student's map next to the reference map's coarse view only (the full map would pass;
        its coarse view fails the check, see the tests)."""
        s, r = student.get("saliency"), reference["saliency"]
        problem = output_problem(student, "saliency", r.shape, "compute_saliency_maps returned")
        if problem:
            if s is not None and s.ndim == 4 and s.shape[:1] + s.shape[2:] == r.shape:
                problem += " Take the maximum of |gradient| over the colour channels (dim=1)."
            return Verdict(False, problem)
        shown = list(range(*index.indices(len(ctx.X))))[:2]
        figures = tuple(_heatmap(f"saliency map of image {i}", s[k], r[k]) for k, i in enumerate(shown))
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"matches the reference (relative difference {err:.1e}).", figures)
        return Verdict(False, f"your saliency map differs from the reference by {100 * min(err, 99.99):.1f}% "
                              f"(relative L2 difference): {_saliency_hint(s, r, ctx, index)}", figures)
    return verify


def _verify_saliency_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's ``X`` keeps its values and ``requires_grad`` stays off. Known correct, full
    marks: ``X.detach().clone()``, ``X.clone().requires_grad_()``, ``torch.autograd.grad`` on a copy. Known wrong,
    lose these points only: CS231n's starter line ``X.requires_grad_()`` on the caller's tensor, normalizing X in
    place."""
    problem = input_problem(student, ctx.X[SALIENCY_BATCH].numpy())
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "the caller's X is unchanged and does not require a gradient.")

