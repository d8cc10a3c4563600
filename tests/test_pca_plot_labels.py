"""The PCA panels of notebook 05 label their tokens without overlapping labels (issue 20): a crowded panel keeps the
answer's labels and drops those that would collide, measured on the rendered figure's text boxes."""
from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from hwlib import embeddings as E  # noqa: E402
from hwlib import plotting_bert as P  # noqa: E402


def crowded_states(tokens=60):
    gen = torch.Generator().manual_seed(1)
    roles = np.array([E.SPECIAL] + [E.QUESTION] * 10 + [E.SPECIAL] + [E.CONTEXT] * (tokens - 15) + [E.ANSWER] * 2
                     + [E.SPECIAL])
    names = tuple(["[CLS]"] + [f"question{i}" for i in range(10)] + ["[SEP]"]
                  + [f"context{i}" for i in range(tokens - 15)] + ["answer", "tokens", "[SEP]"])
    states = torch.randn(2, tokens, 8, generator=gen) * torch.tensor([5.0, 1, 1, 1, 1, 1, 1, 1])  # one long axis
    return E.QAHiddenStates(states, names, roles, "q?", "answer tokens")


def test_crowded_pca_labels_do_not_overlap_and_keep_the_answer():
    fig = P.show_layer_pca(crowded_states(), ncols=2)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    try:
        for ax in (a for a in fig.axes if a.collections):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
            assert {"answer", "tokens"} <= {text for text, _ in boxes}
            assert len(boxes) >= 10, "most of the tokens still get a label"
            overlapping = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
            assert not overlapping, overlapping[:5]
            panel = ax.get_window_extent(renderer)
            assert all(panel.x0 - 1 <= bb.x0 and bb.x1 <= panel.x1 + 1 for _, bb in boxes), "labels stay in the panel"
        assert fig.dpi >= 100
    finally:
        plt.close(fig)
