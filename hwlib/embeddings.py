"""Running BERT on sentences and looking at its hidden states, for notebook 05.

- :func:`embed_sentences` runs many sentences in ONE padded batch (with the attention mask, no gradients, on the
  model's device) and hands back, per sentence, what running it alone would give: its model output (hidden states
  ``(1, T_i, H)`` per layer) and its own tokenization.
- :func:`qa_hidden_states` does the same for question/context pairs and says which token is question, context or
  answer.
- :func:`pca_per_layer`, :func:`similarity_matrix` and :func:`sense_similarity` turn hidden states into the
  pictures and numbers of the notebook.

The students' functions (distances, picking a word's embedding) are not here: the notebook passes them in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from ._validation import describe
from .device import model_device

#: Roles of the tokens of a question/context pair (``QAHiddenStates.roles``).
SPECIAL, QUESTION, CONTEXT, ANSWER = 0, 1, 2, 3
ROLE_NAMES = ("special", "question", "context", "answer")


class SentenceBatch(NamedTuple):
    """``outputs[i]`` is sentence i's model output (``hidden_states``: a tuple of ``L + 1`` tensors
    ``(1, T_i, H)``, ``last_hidden_state``), ``tokenized_sentences[i]`` its tokenization (a ``BatchEncoding`` of one
    sequence: ``word_ids()``, ``word_to_tokens(...)``), exactly as if the sentence had been run alone."""
    outputs: list
    tokenized_sentences: list


@dataclass(frozen=True)
class QAHiddenStates:
    """One question/context pair through the model.

    hidden_states ``(L + 1, T, H)`` float (layer 0 = embedding output); tokens: ``T`` WordPiece strings;
    roles ``(T,)`` int64 with :data:`SPECIAL`, :data:`QUESTION`, :data:`CONTEXT` or :data:`ANSWER` (context tokens
    inside an occurrence of the answer)."""
    hidden_states: torch.Tensor
    tokens: tuple[str, ...]
    roles: np.ndarray
    question: str
    answer: str


def _check_texts(texts, name: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name}: expected a list of strings, got {describe(texts)}"
                        + (" (a single string: wrap it in a list)." if isinstance(texts, str) else "."))
    if not texts:
        raise ValueError(f"{name}: expected at least one string, got an empty list.")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"{name}[{i}]: expected a non-empty string, got {text!r:.60}.")
    return list(texts)


def _run_batch(model, encoding) -> tuple[torch.Tensor, ...]:
    """Every layer's hidden states ``(B, T, H)`` of one padded batch, without gradients, on the CPU."""
    device = model_device(model)
    inputs = {k: v.to(device) for k, v in encoding.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    if out.hidden_states is None:
        raise ValueError("the model returned no hidden states; load it with hwlib.load_bert.")
    return tuple(h.detach().cpu() for h in out.hidden_states)


def embed_sentences(model, tokenizer, sentences: Sequence[str]) -> SentenceBatch:
    """Run ``sentences`` through ``model`` in one padded batch and split the result per sentence.

    Args:
        model: a BERT encoder (e.g. from :func:`hwlib.load_bert`); its device is used.
        tokenizer: its fast tokenizer.
        sentences: N strings.

    Returns:
        :class:`SentenceBatch` ``(outputs, tokenized_sentences)``; ``outputs[i].hidden_states[l]`` is
        ``(1, T_i, H)`` float32 on the CPU, equal (up to float rounding) to running sentence i alone.
    """
    from transformers.modeling_outputs import BaseModelOutput

    sentences = _check_texts(sentences, "sentences")
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    hidden = _run_batch(model, batch)                                  # L + 1 tensors (N, T, H)
    mask = batch["attention_mask"].bool()                              # (N, T): True on real tokens
    outputs, tokenized = [], []
    for i, sentence in enumerate(sentences):
        alone = tokenizer(sentence, return_tensors="pt")
        if not torch.equal(alone["input_ids"][0], batch["input_ids"][i][mask[i]]):
            raise RuntimeError(f"sentence {i} tokenizes differently alone and in the batch: {sentence!r}")
        states = tuple(h[i][mask[i]].unsqueeze(0).clone() for h in hidden)   # (1, T_i, H) each
        outputs.append(BaseModelOutput(last_hidden_state=states[-1], hidden_states=states))
        tokenized.append(alone)
    return SentenceBatch(outputs, tokenized)


def _answer_spans(context: str, answer: str) -> list[tuple[int, int]]:
    """Character spans of every case-insensitive occurrence of ``answer`` in ``context``."""
    spans, low, key = [], context.lower(), answer.lower()
    start = low.find(key)
    while start >= 0 and key:
        spans.append((start, start + len(key)))
        start = low.find(key, start + 1)
    return spans


def qa_hidden_states(model, tokenizer, pairs) -> list[QAHiddenStates]:
    """Every layer's hidden states for question/context pairs (``[CLS] question [SEP] context [SEP]``), all
    pairs in one padded batch.

    Args:
        pairs: objects with ``question``, ``context`` and ``answer`` strings (e.g. ``hwlib.QA_PAIRS``).

    Returns:
        one :class:`QAHiddenStates` per pair (padding removed).
    """
    if isinstance(pairs, Sequence) and pairs and all(hasattr(p, "question") for p in pairs):
        pairs = list(pairs)
    else:
        raise TypeError(f"pairs: expected a non-empty list of question/context/answer pairs (e.g. hwlib.QA_PAIRS), "
                        f"got {describe(pairs)}.")
    questions = _check_texts([p.question for p in pairs], "questions")
    contexts = _check_texts([p.context for p in pairs], "contexts")
    batch = tokenizer(questions, contexts, padding=True, return_tensors="pt", return_offsets_mapping=True)
    hidden = torch.stack(_run_batch(model, batch), dim=1)               # (N, L + 1, T, H)
    mask = batch["attention_mask"].bool()
    result = []
    for i, pair in enumerate(pairs):
        keep = mask[i].nonzero().flatten()
        sequence = [batch.sequence_ids(i)[j] for j in keep.tolist()]
        offsets = batch["offset_mapping"][i][keep].tolist()
        spans = _answer_spans(pair.context, pair.answer)
        roles = np.full(len(keep), SPECIAL, dtype=np.int64)
        for t, (seq, (a, b)) in enumerate(zip(sequence, offsets)):
            if seq == 0:
                roles[t] = QUESTION
            elif seq == 1:
                inside = any(a < end and b > start for start, end in spans)
                roles[t] = ANSWER if inside else CONTEXT
        tokens = tuple(tokenizer.convert_ids_to_tokens(batch["input_ids"][i][keep].tolist()))
        result.append(QAHiddenStates(hidden[i][:, keep].clone(), tokens, roles, pair.question, pair.answer))
    return result


def check_layer(layer, num_states: int, name: str = "layer") -> int:
    """``layer`` as an index in ``[0, num_states)`` (negative counts from the end, as in Python).

    Raises ``TypeError`` for a non-integer and ``ValueError`` outside ``[-num_states, num_states)``."""
    if isinstance(layer, torch.Tensor) and layer.numel() == 1 and not torch.is_floating_point(layer):
        layer = int(layer)
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer layer index, got {describe(layer)}.")
    if layer < -num_states or layer >= num_states:
        raise ValueError(f"{name}: expected a layer in [0, {num_states - 1}] (0 = embedding output, "
                         f"{num_states - 1} = last layer; negative counts from the end), got {layer}.")
    return int(layer) % num_states


def pca_per_layer(hidden_states: torch.Tensor) -> np.ndarray:
    """The first two principal components of every layer's token vectors, all layers in one batched SVD.

    Args:
        hidden_states: ``(L, T, H)`` float (L layers, T >= 2 tokens).

    Returns:
        ``(L, T, 2)`` float64: each layer's tokens projected on that layer's own top two principal directions
        (centred; the sign of each direction makes its largest loading positive, as scikit-learn's PCA does).
    """
    if not isinstance(hidden_states, torch.Tensor) or not torch.is_floating_point(hidden_states):
        raise TypeError(f"hidden_states: expected a float torch.Tensor (L, T, H), got {describe(hidden_states)}.")
    if hidden_states.dim() != 3 or hidden_states.shape[1] < 2 or hidden_states.shape[2] < 2:
        raise ValueError(f"hidden_states: expected shape (L, T, H) with T >= 2 tokens and H >= 2, got "
                         f"{tuple(hidden_states.shape)}.")
    x = hidden_states.detach().to("cpu", torch.float64)
    x = x - x.mean(dim=1, keepdim=True)                                # centre each layer over its tokens
    _, s, vh = torch.linalg.svd(x, full_matrices=False)                # vh: (L, r, H)
    vh = vh[:, :2]
    top = vh.abs().argmax(dim=2, keepdim=True)
    vh = vh * torch.gather(vh, 2, top).sign()                          # largest loading positive
    return torch.einsum("lth,lch->ltc", x, vh).numpy()


def _scalar(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{what}: expected one number, got a tensor of shape {tuple(value.shape)}.")
        value = value.detach().cpu().item()
    try:
        number = float(np.asarray(value).item())
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected one number, got {describe(value)}.") from None
    if not np.isfinite(number):
        raise ValueError(f"{what}: got {number}, expected a finite number.")
    return number


def similarity_matrix(embeddings: Sequence, metric: Callable) -> np.ndarray:
    """``M[i, j] = metric(embeddings[i], embeddings[j])`` for every pair (what sklearn's ``pairwise_distances``
    does with a callable, for torch vectors).

    Args:
        embeddings: N vectors of one shape ``(H,)`` (torch tensors or numpy arrays).
        metric: a function of two vectors returning one number (e.g. your ``cosine_similarity``).

    Returns:
        ``(N, N)`` float64.
    """
    if isinstance(embeddings, torch.Tensor) and embeddings.dim() == 2:
        embeddings = list(embeddings)
    if not isinstance(embeddings, Sequence) or len(embeddings) == 0:
        raise TypeError(f"embeddings: expected a non-empty list of vectors, got {describe(embeddings)}.")
    vectors = [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)) for v in embeddings]
    for i, v in enumerate(vectors):
        if v.dim() != 1 or v.shape != vectors[0].shape:
            raise ValueError(f"embeddings[{i}]: expected a vector of shape {tuple(vectors[0].shape)} like "
                             f"embeddings[0], got shape {tuple(v.shape)}.")
    if not callable(metric):
        raise TypeError(f"metric: expected a function of two vectors, got {describe(metric)}.")
    n = len(vectors)
    matrix = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            matrix[i, j] = _scalar(metric(vectors[i], vectors[j]), f"metric(embeddings[{i}], embeddings[{j}])")
    return matrix


def sense_similarity(matrix, senses: Sequence[int]) -> tuple[float, float]:
    """``(within, across)``: the mean of ``matrix[i, j]`` over pairs ``i != j`` of the same sense, and over pairs of
    different senses.

    Args:
        matrix: ``(N, N)`` pairwise similarities (or distances).
        senses: N sense labels (e.g. ``SenseSentences.senses``); each sense needs 2+ sentences, and 2+ senses.
    """
    m = np.asarray(matrix, dtype=np.float64)
    labels = np.asarray(senses)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or labels.shape != (m.shape[0],):
        raise ValueError(f"expected a square (N, N) matrix and N sense labels, got matrix {m.shape} and "
                         f"{labels.shape[0] if labels.ndim == 1 else labels.shape} labels.")
    same = labels[:, None] == labels[None, :]
    within, across = same & ~np.eye(len(labels), dtype=bool), ~same
    if not within.any() or not across.any():
        raise ValueError("senses: expected at least two senses, one of them with at least two sentences.")
    return float(m[within].mean()), float(m[across].mean())


def qa_layer_similarity(qa: QAHiddenStates) -> dict[str, np.ndarray]:
    """Per layer, mean cosine similarities between the (non-special) tokens of one question/context pair.

    Returns ``(L + 1,)`` float64 arrays: ``same_word`` (two occurrences of the same token, e.g. "afraid" in the
    question and in the context), ``different_words`` (two different tokens), ``nearest_same_word`` (fraction of
    repeated tokens whose nearest other token is an occurrence of the same token), ``answer_to_question`` and
    ``context_to_question`` (answer tokens / other context tokens vs question tokens; NaN without answer tokens).
    """
    keep = np.flatnonzero(qa.roles != SPECIAL)
    tokens, roles = np.asarray(qa.tokens)[keep], qa.roles[keep]
    x = qa.hidden_states[:, keep].detach().to("cpu", torch.float64)
    x = x / x.norm(dim=2, keepdim=True).clamp_min(1e-12)
    sim = (x @ x.transpose(1, 2)).numpy()                              # (L + 1, K, K) cosine similarities
    other = ~np.eye(len(keep), dtype=bool)
    same = (tokens[:, None] == tokens[None, :]) & other
    repeated = same.any(axis=1)
    nearest = np.where(other, sim, -np.inf).argmax(axis=2)             # (L + 1, K)
    question, answer, context = roles == QUESTION, roles == ANSWER, roles == CONTEXT

    def mean(rows, cols):
        block = sim[:, rows][:, :, cols]
        return block.mean(axis=(1, 2)) if block.size else np.full(len(sim), np.nan)
    return {"same_word": sim[:, same].mean(axis=1) if same.any() else np.full(len(sim), np.nan),
            "different_words": sim[:, other & ~same].mean(axis=1),
            "nearest_same_word": (tokens[nearest] == tokens)[:, repeated].mean(axis=1) if repeated.any()
            else np.full(len(sim), np.nan),
            "answer_to_question": mean(answer, question), "context_to_question": mean(context, question)}
