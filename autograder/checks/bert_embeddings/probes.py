"""Notebook 05's probes (untrusted side: they run the student's functions) and the Probe objects."""
from __future__ import annotations

import numpy as np

from ...arrays import SubmissionError, describe, to_array
from ...check import Probe, follows_reference
from .._kit import raises
from .context import DEFAULT, LAYER_CASES, MULTI_TOKEN_CASES, WORD_CASES, Context


def _number(value, what: str) -> float:
    """One number out of what a distance function returned (0-d tensor, Python or numpy scalar)."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.dim() != 0:
            raise SubmissionError(f"{what}: expected one number (a 0-d tensor or a float), got {describe(value)}; "
                                  "reduce with .sum() or use .squeeze() / .item().")
        return float(to_array(value, what, np.float64))
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f" or \
            isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    raise SubmissionError(f"{what}: expected one number (a 0-d tensor or a float), got {describe(value)}.")


def _distance_values(name: str):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        values = [_number(fn(ctx.vector(a), ctx.vector(b)), f"{name} returned") for a, b in ctx.pairs]
        return {"values": np.asarray(values, dtype=np.float64)}
    return run


def _distance_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    a, b = ctx.pairs[0]
    codes = [raises(fn, ctx.vector(a), ctx.vector(b[:-1]), accept=ValueError),
             raises(fn, ctx.vector(a[:1]), ctx.vector(b), accept=ValueError),
             raises(fn, ctx.vector(a), ctx.vector(b), accept=ValueError)]   # the last one is valid: must return
    return {"codes": np.asarray(codes, dtype=np.int64)}


def _embedding(value, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32, copy=True)
    return to_array(value, what)


def _select(cases):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        rows = []
        for i, word, layer in cases:
            output, encoding = ctx.output(i)
            args = (output, encoding, word) if layer == DEFAULT else (output, encoding, word, ctx.layer(layer))
            rows.append(_embedding(fn(*args), "get_select_embedding returned"))
        shapes = {r.shape for r in rows}
        if len(shapes) != 1:
            raise SubmissionError(f"get_select_embedding returned vectors of different shapes {sorted(shapes)}; "
                                  "expected (H,) every time.")
        return {"embeddings": np.stack(rows)}
    return run


def _select_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    words = int(max(ctx.word_ids[0])) + 1
    calls = ((words, ctx.num_states - 1), (words + 40, ctx.num_states - 1), (1, ctx.num_states),
             (1, -ctx.num_states - 1))
    codes = [raises(fn, *ctx.output(0), word, layer, accept=ValueError)
             for word, layer in (*calls, (1, ctx.num_states - 1))]
    return {"codes": np.asarray(codes, dtype=np.int64)}                     # the last call is valid: must return


def _ranks_like_reference(student, reference, ctx) -> bool:
    """``Probe.engaged`` (trusted): the student's values order the vector pairs as the reference does (Spearman's
    rank correlation >= 0.89, the one-sided 1 % level for 7 pairs), or, for a similarity, say on every pair whether
    the vectors point the same way or opposite ways (the reference's sign; noise does so with chance 1/128). A
    squared distance or an unnormalised dot product is an attempt at the function; a constant (no spread) or noise
    is not. Needed because the 7 values are too few for :func:`follows_reference`'s correlation bound."""
    s, r = np.asarray(student["values"], np.float64), np.asarray(reference["values"], np.float64)
    if s.shape != r.shape or s.size < 3 or not np.isfinite(s).all() or np.ptp(s) <= 1e-9 * max(np.abs(s).max(), 1):
        return False
    rank = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(np.float64)   # noqa: E731
    if float(np.corrcoef(rank(s), rank(r))[0, 1]) >= 0.89:
        return True
    signed = np.abs(r) > 1e-3
    return bool((r < -1e-3).any() and (r > 1e-3).any() and (np.sign(s[signed]) == np.sign(r[signed])).all())


EUCLIDEAN_VALUES = Probe("euclidean_values", "euclidean_distance", _distance_values("euclidean_distance"),
                         engaged=_ranks_like_reference)
EUCLIDEAN_ERRORS = Probe("euclidean_errors", "euclidean_distance", _distance_errors)
COSINE_VALUES = Probe("cosine_values", "cosine_similarity", _distance_values("cosine_similarity"),
                      engaged=_ranks_like_reference)
COSINE_ERRORS = Probe("cosine_errors", "cosine_similarity", _distance_errors)
SELECT_WORD = Probe("select_word", "get_select_embedding", _select(WORD_CASES),
                    engaged=follows_reference("embeddings"))
SELECT_LAYERS = Probe("select_layers", "get_select_embedding", _select(LAYER_CASES),
                    engaged=follows_reference("embeddings"))
SELECT_MULTI = Probe("select_multi_token", "get_select_embedding", _select(MULTI_TOKEN_CASES),
                    engaged=follows_reference("embeddings"))
SELECT_ERRORS = Probe("select_errors", "get_select_embedding", _select_errors)
