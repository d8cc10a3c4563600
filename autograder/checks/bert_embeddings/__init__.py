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

from ...check import Assignment, Check, Tolerance
from ..quiz import quiz_checks
from .context import (  # noqa: F401
    EMBEDDING_RTOL,
    LAYER_CASES,
    MULTI_TOKEN_CASES,
    QUESTIONS,
    QUIZ_POINTS,
    WORD_CASES,
    Context,
    make_context,
)
from .context import write_probe_states as sync_data  # noqa: F401  (python -m autograder sync)
from .probes import (
    COSINE_ERRORS,
    COSINE_VALUES,
    EUCLIDEAN_ERRORS,
    EUCLIDEAN_VALUES,
    SELECT_ERRORS,
    SELECT_LAYERS,
    SELECT_MULTI,
    SELECT_WORD,
)
from .verdicts import _verify_errors, _verify_select, _verify_select_errors, _verify_values

ASSIGNMENT_ID = "05_bert_embeddings"
NOTEBOOK = "bert_embeddings.ipynb"
FUNCTIONS = ("euclidean_distance", "cosine_similarity", "get_select_embedding", "ANSWERS")

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
