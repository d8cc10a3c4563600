"""Notebook 05's verdicts (trusted side): every check's ``verify``."""
from __future__ import annotations

import numpy as np

from ...arrays import norm_relative_error
from ...check import Tolerance, Verdict
from .._kit import codes_problem
from .context import COSINE_ATOL, DEFAULT, LAST, SENTENCES, VALUE_RTOL, Context


def _values_problem(student, reference, key: str, what: str) -> str | None:
    got, ref = student.get(key), reference[key]
    if got is None:
        return f"{what}: no output came back."
    if np.shape(got) != np.shape(ref):
        return f"{what}: expected shape {np.shape(ref)}, got {np.shape(got)}."
    if not np.isfinite(got).all():
        return f"{what}: NaN or infinite values came back; a distance of finite vectors is a finite number."
    return None


def _close(kind: str, got, ref) -> np.ndarray:
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if kind == "cosine":
        return np.abs(got - ref) <= COSINE_ATOL
    return np.abs(got - ref) <= VALUE_RTOL * np.abs(ref) + 1e-5


def _distance_hint(kind: str, got: np.ndarray, ctx: Context) -> str:
    a, b = ctx.pairs[:, 0].astype(np.float64), ctx.pairs[:, 1].astype(np.float64)
    if kind == "euclidean":
        if _close(kind, got, ((a - b) ** 2).sum(axis=1)).all():
            return "you returned the squared distance: take the square root of the sum of squares."
        return "the Euclidean distance is sqrt(sum((a - b) ** 2)), one number for the pair."
    dot = (a * b).sum(axis=1)
    if np.allclose(got, dot, rtol=1e-4, atol=1e-4):
        return "you returned the dot product: divide it by the norms of both vectors, |a| |b|."
    if (np.abs(got) > 1 + 1e-4).any():
        return "a cosine similarity lies in [-1, 1]: divide the dot product by |a| |b| (the Euclidean norms)."
    return "cosine similarity = (a . b) / (|a| |b|), one number for the pair."


def _verify_values(kind: str):
    name = "euclidean_distance" if kind == "euclidean" else "cosine_similarity"

    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        problem = _values_problem(student, reference, "values", f"{name} returned")
        if problem:
            return Verdict(False, problem)
        got = np.asarray(student["values"], np.float64)
        ok = _close(kind, got, reference["values"])
        if ok.all():
            return Verdict(True, f"{name} is right on all {len(ok)} vector pairs.")
        first = int(np.flatnonzero(~ok)[0])
        return Verdict(False, f"{name} is wrong for {ctx.pair_names[first]} (and {int((~ok).sum()) - 1} more "
                              f"pairs): {_distance_hint(kind, got, ctx)}")
    return verify


ERROR_CASES = ("vectors of lengths 384 and 383", "vectors of shapes (1,) and (384,) (torch would broadcast them)")


def _verify_errors(kind: str):
    """Input validation is checked apart from the values (``side_effect``: it may pass whatever the function returns
    for valid input, as long as it returns); a function that always raises fails."""
    name = "euclidean_distance" if kind == "euclidean" else "cosine_similarity"

    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        hint = "check `a.shape == b.shape` first and `raise ValueError(...)` with a message saying both shapes."
        problem = codes_problem(student, ERROR_CASES, name, (hint, hint))
        if problem:
            return Verdict(False, problem)
        return Verdict(True, f"{name} raises ValueError for vectors of different shapes.")
    return verify


def _describe_case(i: int, word: int, layer, ctx: Context) -> str:
    where = "no layer argument" if layer == DEFAULT else f"layer={ctx.layer(layer)}"
    return f"word {word} of {SENTENCES[i]!r} ({where})"


def _select_hint(got: np.ndarray, i: int, word: int, layer, ctx: Context) -> str:
    states, last = ctx.states[i].astype(np.float64), ctx.num_states - 1
    want = last if layer in (LAST, DEFAULT) else layer % ctx.num_states
    tokens = np.flatnonzero(np.asarray(ctx.word_ids[i]) == word)

    def same(vector) -> bool:
        return norm_relative_error(got, vector) <= 1e-3
    if word < states.shape[1] and same(states[want, word]):
        return ("you used the word index as a token index: token 0 is [CLS] and words may span several tokens; "
                "map the word to its tokens with tokenized_sentence.word_ids() (or word_to_tokens).")
    if len(tokens) > 1 and same(states[want, tokens[0]]):
        return "you returned the word's first token only: return the mean over all the tokens of the word."
    if word + 1 < states.shape[1] and same(states[want, word + 1]):
        return ("you assumed one token per word (token = word + 1): 'unbelievably' is 5 tokens; map the word to "
                "its tokens with tokenized_sentence.word_ids() (or word_to_tokens).")
    if len(tokens) > 1 and same(states[want, tokens].sum(axis=0)):
        return "you summed the word's tokens: return their mean."
    for other in range(ctx.num_states):
        if other != want and same(states[other, tokens].mean(axis=0)):
            if layer == DEFAULT:
                return f"without a layer argument you used layer {other}: the default must be the last layer."
            return (f"you used layer {other} instead of the requested one: take output.hidden_states[layer] "
                    "(index 0 is the embedding output)." if other != last else
                    "you always used the last layer: take output.hidden_states[layer] for the layer argument.")
    return "take output.hidden_states[layer][0], find the word's tokens with word_ids(), return their mean (H,)."


def _verify_select(cases, what: str):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        got, ref = student.get("embeddings"), reference["embeddings"]
        if got is None or np.shape(got) != ref.shape:
            shape = None if got is None else np.shape(got)[1:]
            return Verdict(False, f"get_select_embedding must return a vector of shape {ref.shape[1:]} "
                                  f"(hidden size), got {shape}.")
        if not np.isfinite(got).all():
            return Verdict(False, "get_select_embedding returned NaN or infinite values.")
        for k, (i, word, layer) in enumerate(cases):
            err = norm_relative_error(got[k], ctx.expected(i, word, layer))
            if not err <= tol.rtol:
                return Verdict(False, f"{what}: wrong vector for {_describe_case(i, word, layer, ctx)}: "
                                      f"{_select_hint(got[k].astype(np.float64), i, word, layer, ctx)}")
        return Verdict(True, f"{what}: right for all {len(cases)} cases.")
    return verify


SELECT_ERROR_CASES = ("a word index one past the last word", "a word index far past the sentence",
                      "layer = number of hidden states (one too many)", "a negative layer below -(L + 1)")


def _verify_select_errors(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    hints = ("if the word has no tokens (word_ids() never equals it), raise ValueError(...) naming the index.",) * 2 + \
            ("check -len(output.hidden_states) <= layer < len(output.hidden_states), else raise ValueError(...).",) * 2
    problem = codes_problem(student, SELECT_ERROR_CASES, "get_select_embedding", hints)
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "get_select_embedding raises ValueError for a word past the sentence and a layer out of "
                         "range.")

