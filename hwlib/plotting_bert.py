"""Figures of notebook 05: a similarity heat map, within- vs across-sense similarity per layer, and the PCA of
every layer's hidden states for a question/context pair.

Every function draws into a new figure and returns it; labels go through :func:`hwlib.fonts.text_labels`, so
Chinese text renders with a CJK font or falls back to indexed labels (never boxes of missing glyphs).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .embeddings import ANSWER, CONTEXT, QUESTION, QAHiddenStates, check_layer, pca_per_layer
from .fonts import readable_text, text_labels

#: colour and marker per token role (HW9's: question red, context green, answer blue diamonds).
ROLE_STYLE = {QUESTION: ("tab:red", "o", "question"), CONTEXT: ("tab:green", "o", "context"),
              ANSWER: ("tab:blue", "D", "answer")}


def show_similarity_matrix(matrix, labels: Sequence[str], title: str = "Comparison of word embeddings",
                           metric_name: str = "cosine similarity", senses: Sequence[int] | None = None,
                           font=None):
    """Heat map of an ``(N, N)`` similarity (or distance) matrix: sentence labels on the rows, sentence numbers on
    the columns, every value written in its cell, lines between sense groups when ``senses`` is given."""
    import matplotlib.pyplot as plt

    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or len(labels) != m.shape[0]:
        raise ValueError(f"expected a square (N, N) matrix and N labels, got {m.shape} and {len(labels)} labels.")
    n = m.shape[0]
    shown, label_font = text_labels([f"{i}  {label}" for i, label in enumerate(labels)], font)
    fig, ax = plt.subplots(figsize=(4 + 0.55 * n + 0.07 * max(map(len, shown)), 1.2 + 0.55 * n),
                           layout="constrained")
    image = ax.imshow(m, cmap="viridis")
    fig.colorbar(image, ax=ax, shrink=0.8, label=metric_name)
    ax.set_yticks(range(n), shown, fontproperties=label_font, fontsize=9)
    ax.set_xticks(range(n), [str(i) for i in range(n)], fontsize=9)
    ax.set_xlabel("sentence")
    middle = (np.nanmin(m) + np.nanmax(m)) / 2
    for (i, j), value in np.ndenumerate(m):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="black" if value > middle else "white")
    if senses is not None:
        s = np.asarray(senses)
        for k in np.flatnonzero(s[1:] != s[:-1]):
            ax.axhline(k + 0.5, color="white", lw=2)
            ax.axvline(k + 0.5, color="white", lw=2)
    title, title_font = readable_text(title, font)
    ax.set_title(title, fontproperties=title_font)
    return fig


def show_sense_similarity_by_layer(within, across, words: Sequence[str], metric_name: str = "cosine similarity",
                                   font=None):
    """Left: mean similarity of a word's embeddings between sentences of the same sense (solid) and of different
    senses (dashed), per layer; right: their difference. ``within``, ``across``: ``(W, L + 1)`` for W words."""
    import matplotlib.pyplot as plt

    w, a = np.atleast_2d(np.asarray(within, dtype=np.float64)), np.atleast_2d(np.asarray(across, dtype=np.float64))
    if w.shape != a.shape or w.shape[0] != len(words):
        raise ValueError(f"within and across: expected the same shape (W, L + 1) for W = {len(words)} words, got "
                         f"{w.shape} and {a.shape}.")
    layers = np.arange(w.shape[1])
    words, word_font = text_labels(list(words), font, fallback=lambda i: f"word {i}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for k, word in enumerate(words):
        colour = f"C{k}"
        left.plot(layers, w[k], "o-", color=colour, label=f"{word}: same sense")
        left.plot(layers, a[k], "s--", color=colour, label=f"{word}: different senses")
        right.plot(layers, w[k] - a[k], "o-", color=colour, label=word)
    left.set(xlabel="layer (0 = embedding output)", ylabel=f"mean {metric_name}",
             title="Same word, same vs different sense", xticks=layers)
    right.axhline(0, color="grey", lw=1)
    right.set(xlabel="layer (0 = embedding output)", ylabel="same sense - different senses",
              title="How well the layer separates the senses", xticks=layers)
    left.legend(ncol=2, prop=_sized(word_font, 7))
    right.legend(prop=_sized(word_font, 8))
    return fig


def _sized(font, size):
    """``font`` (FontProperties or None) at ``size`` points, for a legend's ``prop``."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties() if font is None else font.copy()
    font.set_size(size)
    return font


def show_layer_pca(qa: QAHiddenStates, layers: Sequence[int] | None = None, label_tokens: bool = True,
                   ncols: int = 4, font=None):
    """One panel per layer: the question/context tokens' hidden states projected on that layer's first two
    principal components (special tokens left out), question red, context green, answer blue diamonds."""
    import matplotlib.pyplot as plt

    if not isinstance(qa, QAHiddenStates):
        raise TypeError(f"qa: expected one of hwlib.qa_hidden_states(...)'s results, got {type(qa).__name__}.")
    num_states = qa.hidden_states.shape[0]
    layers = list(range(num_states)) if layers is None else [check_layer(l, num_states) for l in layers]
    keep = np.flatnonzero(qa.roles != 0)
    coords = pca_per_layer(qa.hidden_states[layers][:, keep])          # (len(layers), K, 2)
    roles = qa.roles[keep]
    tokens, token_font = text_labels([qa.tokens[t] for t in keep], font, fallback=lambda i: "")
    nrows = -(-len(layers) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), layout="constrained", squeeze=False)
    for ax, layer, xy in zip(axes.flat, layers, coords):
        for role, (colour, marker, name) in ROLE_STYLE.items():
            on = roles == role
            ax.scatter(xy[on, 0], xy[on, 1], c=colour, marker=marker, s=40 if role == ANSWER else 14,
                       label=name, zorder=3 if role == ANSWER else 2)
        if label_tokens:
            for (x, y), token, role in zip(xy, tokens, roles):
                ax.annotate(token, (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points",
                            color="black" if role != CONTEXT else "dimgray", fontproperties=token_font)
        ax.set_title("embedding output (layer 0)" if layer == 0 else f"layer {layer}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="best")
    title, title_font = readable_text(f"PCA of every layer's hidden states - Q: {qa.question}  (answer: {qa.answer})",
                                      font)
    fig.suptitle(title, fontsize=11, fontproperties=title_font)
    return fig
