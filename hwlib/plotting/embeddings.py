"""Figures of notebook 05: a similarity heat map, within- vs across-sense similarity per layer, and the PCA of
every layer's hidden states for a question/context pair.

Every function draws into a new figure and returns it; labels go through :func:`hwlib.fonts.text_labels`, so
Chinese text renders with a CJK font or falls back to indexed labels (never boxes of missing glyphs).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..embeddings import ANSWER, CONTEXT, QUESTION, QAHiddenStates, check_layer, pca_per_layer
from ..fonts import readable_text, text_labels

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
                           layout="constrained", dpi=100)
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", dpi=100)
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


def _label_without_overlap(ax, xy: np.ndarray, tokens: Sequence[str], roles: np.ndarray, font=None,
                           fontsize: float = 7.0):
    """Label the points of one PCA panel, skipping any label that would overlap one already placed (answer tokens
    first, then the question, then the context), so that every label drawn is readable. Boxes are estimated in the
    panel's fraction coordinates from the axes' size in inches, before drawing (no renderer needed)."""
    if len(xy) == 0:
        return
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    ax.set_xlim(low[0] - 0.05 * span[0], high[0] + 0.05 * span[0])
    ax.set_ylim(low[1] - 0.05 * span[1], high[1] + 0.05 * span[1])
    fig_w, fig_h = ax.figure.get_size_inches()
    box = ax.get_position()
    width_in, height_in = max(box.width * fig_w, 0.5), max(box.height * fig_h, 0.5)
    char_w, line_h = 0.75 * fontsize / 72 / width_in, 1.5 * fontsize / 72 / height_in    # fractions of the panel, generous
    frac = (xy - low + 0.05 * span) / (1.1 * span)
    order = sorted(range(len(xy)), key=lambda i: (0 if roles[i] == ANSWER else 1 if roles[i] != CONTEXT else 2, i))
    placed: list[tuple[float, float, float, float]] = []
    for i in order:
        if not tokens[i]:
            continue
        w = char_w * len(tokens[i])
        for dx, dy, ha, va in ((0.008, 0.008, "left", "bottom"), (-0.008, 0.008, "right", "bottom"),
                               (0.008, -0.008, "left", "top"), (-0.008, -0.008, "right", "top")):
            x0 = frac[i, 0] + dx if ha == "left" else frac[i, 0] + dx - w
            y0 = frac[i, 1] + dy if va == "bottom" else frac[i, 1] + dy - line_h
            candidate = (x0, y0, x0 + w, y0 + line_h)
            inside = candidate[0] >= 0 and candidate[2] <= 1 and candidate[1] >= 0 and candidate[3] <= 1
            if inside and all(candidate[2] <= b[0] or candidate[0] >= b[2] or candidate[3] <= b[1] or
                              candidate[1] >= b[3] for b in placed):
                placed.append(candidate)
                ax.text(frac[i, 0] + dx, frac[i, 1] + dy, tokens[i], transform=ax.transAxes, fontsize=fontsize,
                        ha=ha, va=va, color="black" if roles[i] != CONTEXT else "dimgray", fontproperties=font)
                break


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
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), layout="constrained", squeeze=False,
                             dpi=100)
    for ax, layer, xy in zip(axes.flat, layers, coords):
        for role, (colour, marker, name) in ROLE_STYLE.items():
            on = roles == role
            ax.scatter(xy[on, 0], xy[on, 1], c=colour, marker=marker, s=40 if role == ANSWER else 14,
                       label=name, zorder=3 if role == ANSWER else 2)
        if label_tokens:
            _label_without_overlap(ax, xy, tokens, roles, token_font)
        ax.set_title("embedding output (layer 0)" if layer == 0 else f"layer {layer}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()       # outside the panels: it hides no label
    fig.legend(handles, names, fontsize=8, loc="outside lower center", ncols=len(names))
    title, title_font = readable_text(f"PCA of every layer's hidden states - Q: {qa.question}  (answer: {qa.answer})",
                                      font)
    fig.suptitle(title, fontsize=11, fontproperties=title_font)
    return fig
