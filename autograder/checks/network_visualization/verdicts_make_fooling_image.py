"""Notebook 02's verdicts on ``make_fooling_image`` (trusted side): one analysis of the returned images and the
recordings per submission, shared by the four checks."""
from __future__ import annotations

import hashlib

import numpy as np

from ...arrays import cosine
from ...check import Figure, Tolerance, Verdict
from .._kit import input_problem, output_problem
from .context import (
    FOOLING_CASES,
    FOOLING_HUGE,
    FOOLING_LEARNING_RATE,
    FOOLING_RECORD_LIMIT,
    FOOLING_STEP_COSINE,
    FOOLING_STEP_LENGTH,
    FOOLING_TIE,
    Context,
)
from .verdicts import _finite, _heatmap


def _digest(arrays) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _case_name(ctx: Context, k: int) -> str:
    i, target = FOOLING_CASES[k]
    return (f"case {k + 1} of {len(FOOLING_CASES)} (image {i}, a {ctx.class_names[int(ctx.y[i])]!r}, target "
            f"{ctx.class_names[target]!r})")


def _margin(scores: np.ndarray, target: int) -> np.ndarray:
    """Target score minus the best other score, per row of ``scores`` (N, C)."""
    others = np.delete(scores, target, axis=1)
    return scores[:, target] - others.max(1)


def _reference_ends(reference, ctx: Context) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per case: the reference's last image, and the image one normalized step beyond it (trusted)."""
    def compute():
        ends = []
        for k, (_, target) in enumerate(FOOLING_CASES):
            last = reference[f"fooling_{k}"].astype(np.float64)
            _, g = ctx.gradients(last.astype(np.float32), target)
            ends.append((last, last + FOOLING_LEARNING_RATE * g / np.linalg.norm(g)))
        return ends
    return ctx.memo(("fooling reference ends", _digest({k: reference[f"fooling_{k}"]
                                                       for k in range(len(FOOLING_CASES))})), compute)


def _path(recorded: np.ndarray, truncated: bool, x0: np.ndarray, last: np.ndarray) -> tuple[list, int | None]:
    """(the images the student stepped through, from the original to the returned one, as recorded; the index in
    ``recorded`` of the first image equal to the returned one, or None). Calls on the original image in between
    (e.g. to compare predictions) are left out."""
    same = [k for k, r in enumerate(recorded) if np.array_equal(r, last)]
    end = same[0] if same else None
    body = [r for r in recorded[:end] if not np.array_equal(r, x0)]
    path = [x0] + body + ([last] if end is not None or not truncated else [])
    deduped = [path[0]]
    for image in path[1:]:
        if not np.array_equal(image, deduped[-1]):
            deduped.append(image)
    return deduped, end


def _bad_step(path: list, target: int, ctx: Context) -> str | None:
    """A message for the first step of ``path`` that is not ``learning_rate * g / ||g||_2`` of the raw target
    score at its start (trusted gradients), naming the mistake it looks like; None when every step is right."""
    if len(path) < 2:
        return None
    starts = np.stack(path[:-1]).astype(np.float32)
    _, grads = ctx.gradients(starts, target)
    lr = FOOLING_LEARNING_RATE
    total = np.zeros_like(grads[0])
    for j in range(len(path) - 1):
        step = path[j + 1].astype(np.float64) - path[j].astype(np.float64)
        g = grads[j]
        total = total + g
        length, gnorm = float(np.linalg.norm(step)), float(np.linalg.norm(g))
        if not (np.isfinite(gnorm) and gnorm > 0):
            return (f"at step {j + 1} the model's gradient is {'zero' if gnorm == 0 else 'not finite'}: your image "
                    "left the range where the target score can be followed.")
        c = cosine(step, g)
        if c >= FOOLING_STEP_COSINE and abs(length - lr) <= FOOLING_STEP_LENGTH * lr:
            continue
        where = f"step {j + 1} has length {length:.3g} and cosine {c:.3f} with the target score's gradient"
        if c >= FOOLING_STEP_COSINE:
            if abs(length - lr / gnorm) <= 0.02 * lr / gnorm:
                return (f"{where}: its length is learning_rate / ||g||, so you divided the gradient by ||g||^2; "
                        "divide by the L2 norm ||g||_2 itself (every step then has length learning_rate = 1).")
            return (f"{where}: every step must have length learning_rate = 1, i.e. X += learning_rate * g / "
                    "||g||_2.")
        if c <= -FOOLING_STEP_COSINE:
            return f"{where}: your step goes downhill; gradient ASCENT on the target score adds the gradient."
        if cosine(step, total) >= FOOLING_STEP_COSINE:
            return (f"{where}, but it follows the sum of the gradients of all steps so far: X.grad accumulates. "
                    "Clear it after each step (`X_fooling.grad.zero_()`, with the parentheses) or use "
                    "torch.autograd.grad.")
        _, g_loss = ctx.gradients(path[j][None].astype(np.float32), target, "log_softmax")
        if cosine(step, g_loss[0]) >= FOOLING_STEP_COSINE:
            return (f"{where}: it follows the cross-entropy loss (or the softmax probability); ascend the raw "
                    "target score s_t (the logit) instead.")
        return (f"{where}: each step must be learning_rate * g / ||g||_2 with g the gradient of the raw target "
                "score s_t (the logit) at the current image.")
    return None


def _fooling_analysis(student, reference, ctx: Context) -> list[dict]:
    """Per case: ``problem`` (the returned image is unusable), ``fooled``, ``predicted``, ``d_ref``/``d_past``
    (distance to the reference's last image / one step beyond it, relative to how far the reference moved),
    ``bad_step`` and ``went_past`` (messages from the recordings, or None), ``change`` (|F - X| max over
    channels) and ``ref_change``."""
    keys = {k: v for k, v in student.items() if isinstance(v, np.ndarray)}
    return ctx.memo(("fooling analysis", _digest(keys)), lambda: _analyse_fooling(student, reference, ctx))


def _analyse_fooling(student, reference, ctx: Context) -> list[dict]:
    cases = []
    ends = None
    for k, (i, target) in enumerate(FOOLING_CASES):
        x0 = ctx.X[i:i + 1].numpy()
        case: dict = {"name": _case_name(ctx, k), "problem": None, "fooled": False, "bad_step": None,
                      "went_past": None, "d_ref": np.inf, "d_past": np.inf}
        cases.append(case)
        problem = output_problem(student, f"fooling_{k}", x0.shape, "make_fooling_image returned")
        if problem:
            case["problem"] = f"{case['name']}: {problem}"
            continue
        f = student[f"fooling_{k}"]
        if np.abs(f).max() > FOOLING_HUGE:
            case["problem"] = (f"{case['name']}: your image has values up to {np.abs(f).max():.1e}, far outside the "
                               "range of normalized images: a fooling image stays close to X.")
            continue
        scores = ctx.scores(f)
        if not _finite(scores):
            case["problem"] = (f"{case['name']}: the model's scores on your image are not finite (NaN or inf): its "
                               "values are far too large.")
            continue
        best = int(scores[0].argmax())
        case["predicted"], case["scores"] = best, scores[0]
        case["fooled"] = bool(scores[0, target] >= scores[0, best] - FOOLING_TIE)
        ends = ends or _reference_ends(reference, ctx)
        last, past = ends[k]
        moved = float(np.linalg.norm(last - x0))
        case["d_ref"] = float(np.linalg.norm(f - last)) / moved
        case["d_past"] = float(np.linalg.norm(f - past)) / moved
        case["change"], case["ref_change"] = np.abs(f - x0)[0].max(0), np.abs(last - x0)[0].max(0)
        recorded = student.get(f"inputs_{k}")
        if (recorded is None or recorded.ndim != 4 or recorded.shape[1:] != x0.shape[1:] or not len(recorded)
                or not _finite(recorded)):
            continue                                       # no usable recordings: no evidence either way
        recorded = recorded[:FOOLING_RECORD_LIMIT]
        path, end = _path(list(recorded), bool(student.get(f"inputs_{k}_truncated", False)), x0[0], f[0])
        bad = _bad_step(path, target, ctx)
        if bad:
            case["bad_step"] = f"{case['name']}: {bad}"
        before = recorded[:end] if end is not None else recorded
        if len(before):
            fooled_before = np.flatnonzero(_margin(ctx.scores(before), target) > FOOLING_TIE)
            if len(fooled_before):
                case["went_past"] = (
                    f"{case['name']}: the model already classified an earlier image as the target (the "
                    f"{_ordinal(int(fooled_before[0]) + 1)} distinct image your code gave it), yet your function "
                    "went on and returned " + ("a later one" if end is not None else "an image after it") +
                    ": return the first image the model classifies as the target.")
    return cases


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _fooling_figures(cases: list[dict]) -> tuple[Figure, ...]:
    for case in cases:
        if "change" in case:
            return (_heatmap(f"{case['name']}: change |X_fooling - X| (max over channels)", case["change"],
                                 case["ref_change"]),)
    return ()


def _verify_fooled(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every case's returned image is classified as its target by the trusted model (a target score within
    ``tol.atol`` of the top counts; non-finite scores fail). Known correct, full marks: every correct variant of
    ``fooling_steps``. Known wrong, lose points: returning X unchanged, too few steps; (``||g||^2``, accumulated
    or loss gradients still reach the target here and lose ``fooling_steps`` instead). Picture: the size of the
    change |X_fooling - X| (max over channels), the reference's as a coarse view, never the reference image
    (decoded from its PNG it passed every fooling check)."""
    cases = _fooling_analysis(student, reference, ctx)
    figures = _fooling_figures(cases)
    for (_, target), case in zip(FOOLING_CASES, cases):
        if case["problem"]:
            return Verdict(False, case["problem"], figures)
        if not case["fooled"]:
            names, scores = ctx.class_names, case["scores"]
            return Verdict(False, f"{case['name']}: the model classifies your image as {names[case['predicted']]!r} "
                                  f"(score {scores[case['predicted']]:.2f}), not as the target (score "
                                  f"{scores[target]:.2f}): keep taking gradient-ascent steps on the target score "
                                  "until the prediction is the target (at most 100).", figures)
    return Verdict(True, f"the model classifies each of your {len(cases)} images as its target.", figures)


def _verify_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every step is ``learning_rate * g / ||g||_2`` with ``g`` the gradient of the raw target score.

    Evidence from the returned images (enough to fail, and needed to pass): each lies within ``tol.rtol`` (relative
    to how far the reference moved) of the reference's last image or of one normalized step beyond it (going one
    step too far is ``fooling_first``'s business). Evidence from the recordings (can only fail): each recorded step
    has length ``learning_rate`` (1%) and cosine >= 0.99 with the trusted gradient at its start. Known correct,
    full marks: ``g.norm()`` or ``torch.sqrt(torch.sum(g * g))`` (a rounding that flips a ReLU tie; the cases are
    chosen stable), in-place (``.data +=``, ``+=`` under ``no_grad``) or out-of-place updates, ``.backward()`` with
    ``grad.zero_()`` or ``torch.autograd.grad``, checking the prediction before or after each step. Known wrong,
    lose points: dividing by ``||g||^2``, never clearing ``.grad`` (also ``grad.zero_`` without parentheses),
    descending the cross-entropy loss or ascending the softmax probability. Picture: as ``fooling_target``'s
    (unsigned, channel-maximum, coarse: it cannot be turned back into a passing image, see the tests)."""
    cases = _fooling_analysis(student, reference, ctx)
    figures = _fooling_figures(cases)
    for case in cases:
        if case["problem"]:
            return Verdict(False, case["problem"], figures)
    for case in cases:
        if case["bad_step"]:
            return Verdict(False, case["bad_step"], figures)
    for case in cases:
        off = min(case["d_ref"], case["d_past"])
        if not off <= tol.rtol:
            return Verdict(False, f"{case['name']}: your image is {100 * min(off, 99.99):.0f}% (of the distance the "
                                  "image has to move) away from where steps of learning_rate * g / ||g||_2 on the "
                                  "raw target score lead: take exactly those steps from X, nothing else.", figures)
    return Verdict(True, f"your {len(cases)} images lie on the path of normalized gradient-ascent steps.", figures)


def _verify_first(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The function returns the first image the model classifies as the target, not a later one.

    Evidence from the returned images: each is classified as the target, and none is nearer to one step beyond the
    reference's last image than to that image (within ``tol.rtol``). Evidence from the recordings (can only fail):
    no image the model saw before the returned one was already classified as the target. Known correct, full
    marks: checking the prediction before each step (and returning the image checked), or after each step (the
    cases' images are never the target at the start). Known wrong, lose points: breaking on the scores of the
    image *before* the step just taken (returns one step past the first fooled image)."""
    cases = _fooling_analysis(student, reference, ctx)
    for case in cases:
        if case["problem"]:
            return Verdict(False, case["problem"])
        if not case["fooled"]:
            return Verdict(False, f"{case['name']}: not checked, your image is not classified as the target (see "
                                  "fooling_target).")
    for case in cases:
        if case["went_past"]:
            return Verdict(False, case["went_past"])
    for case in cases:
        if case["d_past"] < case["d_ref"] and case["d_past"] <= tol.rtol:
            return Verdict(False, f"{case['name']}: your image is one step past the first image the model "
                                  "classifies as the target: check the prediction of the image you are about to "
                                  "return (before each step, or after each step on the new image) and stop there.")
    return Verdict(True, "each image is the first one on its path that the model classifies as the target.")


def _verify_fooling_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's ``X`` keeps its values and ``requires_grad`` stays off, in every case.
    Known correct, full marks: ``X.clone()`` or ``X.detach().clone()`` then updates of the copy. Known wrong, lose
    these points only: ``X_fooling = X`` updated in place, ``X.requires_grad_()`` on the caller's tensor."""
    for k, (i, _) in enumerate(FOOLING_CASES):
        problem = input_problem(student, ctx.X[i:i + 1].numpy(), suffix=f"_{k}")
        if problem:
            return Verdict(False, f"{_case_name(ctx, k)}: {problem}")
    return Verdict(True, "the caller's X is unchanged and does not require a gradient.")

