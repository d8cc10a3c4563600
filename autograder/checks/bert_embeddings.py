"""Checks for notebook 05 (inside BERT): distances, picking a word's hidden state, and the quiz.

Every probe uses the offline MiniLM (6 layers, hidden size 384) on four fixed sentences, run once in the Context;
the distance probes use seeded random vectors and two real hidden states. Points: euclidean_distance 3,
cosine_similarity 3, get_select_embedding 5, quiz 8 x 0.5 = 4; 15 in all.

Known-correct variants that keep full marks (examples in ``VARIANTS``): ``torch.nn.functional.cosine_similarity``
or ``a @ b / (|a| |b|)`` with or without HW9's ``+ 1e-8``; ``torch.dist``, ``torch.linalg.norm(a - b)`` or
``((a - b) ** 2).sum() ** 0.5``; converting to numpy inside and returning a numpy float; ``word_ids()`` or
``word_to_tokens()`` to find the word's tokens. Known-wrong ones that lose points: the squared distance, cosine
without dividing by the norms, the token index instead of the word index (off by ``[CLS]``), a fixed layer, the first
token of a multi-token word only, no ``ValueError`` on bad input.
"""
from __future__ import annotations

import functools

import numpy as np

from ..arrays import SubmissionError, describe, norm_relative_error, to_array
from ..check import Assignment, Check, Probe, Tolerance, Verdict, follows_reference
from .quiz import quiz_checks

ASSIGNMENT_ID = "05_bert_embeddings"
NOTEBOOK = "bert_embeddings.ipynb"
FUNCTIONS = ("euclidean_distance", "cosine_similarity", "get_select_embedding", "ANSWERS")
QUESTIONS = {n: 4 for n in range(1, 9)}      # the quiz: 8 questions, options a-d
QUIZ_POINTS = 0.5

SENTENCES = ("The bank raised its interest rates",               # 'bank' = word 1 (one token)
             "I ate an apple for lunch today",                   # 'apple' = word 3
             "Apple released a new iPhone this week",            # 'apple' = word 0 (token 1, after [CLS])
             "Gertrude found the situation unbelievably funny")  # 'unbelievably' = word 4 = 5 tokens; 'funny' = 5
LAST = "last"                                                    # the model's last layer, as a positive index
DEFAULT = "default"                                              # no layer argument: must mean the last layer
# (sentence, word index, layer) of each probe
WORD_CASES = ((0, 1, LAST), (1, 3, LAST), (2, 0, LAST), (3, 5, LAST))
LAYER_CASES = ((1, 3, 0), (2, 0, 3), (0, 1, -1), (1, 3, DEFAULT))
MULTI_TOKEN_CASES = ((3, 4, LAST),)
VECTOR_SEED, DIM = 0, 384
VALUE_RTOL = 1e-5           # distances: relative to the value (float32 arithmetic is ~1e-7)
COSINE_ATOL = 1e-5
EMBEDDING_RTOL = 5e-5       # relative L2 error of a returned hidden state (a copy or a mean of copies)


@functools.lru_cache(maxsize=1)
def _hidden_states():
    """The probe sentences' hidden states ``(L + 1, T_i, H)`` float32 and word ids, computed once (CPU)."""
    import hwlib

    model, tokenizer, _, _ = hwlib.load_bert("offline", device="cpu")
    batch = hwlib.embed_sentences(model, tokenizer, list(SENTENCES))
    states = tuple(np.stack([h[0].numpy() for h in out.hidden_states]) for out in batch.outputs)
    word_ids = tuple(tuple(-1 if w is None else w for w in enc.word_ids()) for enc in batch.tokenized_sentences)
    return states, word_ids, tokenizer


class Context:
    """The probe inputs of notebook 05 (CPU); probes move copies to ``device``.

    states[i]: ``(L + 1, T_i, H)`` hidden states of SENTENCES[i]; word_ids[i]: ``(T_i,)`` (-1 = special token);
    pairs: ``(K, 2, H)`` float32 vector pairs of the distance probes."""

    def __init__(self, device: str = "cpu"):
        import torch

        self.device = torch.device(device)
        self.states, self.word_ids, self.tokenizer = _hidden_states()
        self.num_states = self.states[0].shape[0]
        gen = np.random.default_rng(VECTOR_SEED)
        a, b = gen.standard_normal((2, DIM)).astype(np.float32)
        real_a, real_b = self.states[0][-1, 2], self.states[1][-1, 4]   # 'bank' and 'apple', last layer
        small = np.zeros(DIM, np.float32)
        small[:3], b_small = [1, 2, 2], np.zeros(DIM, np.float32)
        b_small[:3] = [2, 1, 2]
        self.pair_names = ("two random vectors", "a vector and 3 times itself", "a vector and its negative",
                           "two real hidden states", "(1, 2, 2) and (2, 1, 2)", "two vectors of norm ~ 2000",
                           "a vector and itself")
        self.pairs = np.stack([np.stack(p) for p in ((a, b), (a, 3 * a), (a, -a), (real_a, real_b),
                                                     (small, b_small), (100 * a, 100 * b + 50 * a), (b, b))])

    def layer(self, layer):
        """The layer argument of a probe case (``LAST`` = the last layer as a positive index)."""
        return self.num_states - 1 if layer == LAST else layer

    def output(self, i: int):
        """Sentence i as the student's function receives it: a model output and a tokenization (fresh copies)."""
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        states = tuple(torch.from_numpy(h.copy()).unsqueeze(0).to(self.device) for h in self.states[i])
        encoding = self.tokenizer(SENTENCES[i], return_tensors="pt")
        return BaseModelOutput(last_hidden_state=states[-1], hidden_states=states), encoding

    def expected(self, i: int, word: int, layer) -> np.ndarray:
        """The trusted hidden state ``(H,)`` of a probe case: the mean over the word's tokens."""
        layer = self.num_states - 1 if layer in (LAST, DEFAULT) else layer
        tokens = np.flatnonzero(np.asarray(self.word_ids[i]) == word)
        return self.states[i][layer, tokens].astype(np.float64).mean(axis=0)

    def vector(self, array: np.ndarray):
        import torch

        return torch.from_numpy(array.copy()).to(self.device)


def make_context(device: str = "cpu") -> Context:
    return Context(device)


# ----------------------------------------------------------------------------------------------- probes (untrusted side)

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


def _raises(fn, *args) -> int:
    """0 when ``fn(*args)`` raises ValueError, 1 for another exception, 2 when it returns."""
    try:
        fn(*args)
    except ValueError:
        return 0
    except Exception:
        return 1
    return 2


def _distance_values(name: str):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        values = [_number(fn(ctx.vector(a), ctx.vector(b)), f"{name} returned") for a, b in ctx.pairs]
        return {"values": np.asarray(values, dtype=np.float64)}
    return run


def _distance_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    a, b = ctx.pairs[0]
    codes = [_raises(fn, ctx.vector(a), ctx.vector(b[:-1])), _raises(fn, ctx.vector(a[:1]), ctx.vector(b)),
             _raises(fn, ctx.vector(a), ctx.vector(b))]                   # the last one is valid: must return
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
    codes = [_raises(fn, *ctx.output(0), word, layer) for word, layer in (*calls, (1, ctx.num_states - 1))]
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


# ------------------------------------------------------------------------------------------------ checks (trusted side)

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


def _code_message(code: int, case: str, raise_hint: str) -> str:
    if code == 2:
        return f"it returned a value for {case}; {raise_hint}"
    return f"it raised another exception than ValueError for {case}; {raise_hint}"


def _codes_problem(student, cases, name: str, hints) -> str | None:
    """A message unless every bad call raised ValueError (code 0) and the final valid call returned (code 2)."""
    codes = student.get("codes")
    if codes is None or np.shape(codes) != (len(cases) + 1,):
        return f"{name}: the results of the bad-input calls are missing."
    codes = np.asarray(codes).tolist()
    for code, case, hint in zip(codes, cases, hints):
        if code != 0:
            return f"{name} must raise ValueError for bad input: " + _code_message(code, case, hint)
    if codes[-1] != 2:
        return f"{name} raised an exception for valid input; raise ValueError only when the input is bad."
    return None


def _verify_errors(kind: str):
    """Input validation is checked apart from the values (``side_effect``: it may pass whatever the function returns
    for valid input, as long as it returns); a function that always raises fails."""
    name = "euclidean_distance" if kind == "euclidean" else "cosine_similarity"

    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        hint = "check `a.shape == b.shape` first and `raise ValueError(...)` with a message saying both shapes."
        problem = _codes_problem(student, ERROR_CASES, name, (hint, hint))
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
    problem = _codes_problem(student, SELECT_ERROR_CASES, "get_select_embedding", hints)
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "get_select_embedding raises ValueError for a word past the sentence and a layer out of "
                         "range.")


CHECKS = (
    Check("euclidean_values", EUCLIDEAN_VALUES, 2, "euclidean_distance is right on 7 vector pairs",
          _verify_values("euclidean")),
    Check("euclidean_errors", EUCLIDEAN_ERRORS, 1, "euclidean_distance raises ValueError for different shapes",
          _verify_errors("euclidean"), side_effect=True),
    Check("cosine_values", COSINE_VALUES, 2, "cosine_similarity is right on 7 vector pairs", _verify_values("cosine")),
    Check("cosine_errors", COSINE_ERRORS, 1, "cosine_similarity raises ValueError for different shapes",
          _verify_errors("cosine"), side_effect=True),
    Check("select_word", SELECT_WORD, 2, "get_select_embedding picks the word's hidden state (last layer)",
          _verify_select(WORD_CASES, "word -> tokens"), Tolerance(rtol=EMBEDDING_RTOL)),
    Check("select_layers", SELECT_LAYERS, 1, "get_select_embedding uses the layer argument (0, 3, -1, default)",
          _verify_select(LAYER_CASES, "layer argument"), Tolerance(rtol=EMBEDDING_RTOL)),
    Check("select_multi_token", SELECT_MULTI, 1, "a word of several tokens gives the mean of its tokens",
          _verify_select(MULTI_TOKEN_CASES, "word of several tokens"), Tolerance(rtol=EMBEDDING_RTOL)),
    Check("select_errors", SELECT_ERRORS, 1, "get_select_embedding raises ValueError for bad word or layer",
          _verify_select_errors, side_effect=True),
    *quiz_checks(QUESTIONS, variable="ANSWERS", points=QUIZ_POINTS),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
