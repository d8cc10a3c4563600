"""hwlib.plotting_bert: the figures carry what the notebook promises (labels, values in cells, one panel per layer,
the three token roles) and refuse inputs that do not fit."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from hwlib import embeddings as E  # noqa: E402
from hwlib import plotting_bert as P  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_similarity_heat_map_has_labels_values_colour_bar_and_sense_lines():
    m = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.2], [0.1, 0.2, 1.0]])
    fig = P.show_similarity_matrix(m, ["fruit: a", "fruit: b", "company: c"], senses=[0, 0, 1], title="T",
                                   metric_name="cosine similarity")
    ax, bar = fig.axes
    assert ax.get_title() == "T" and bar.get_ylabel() == "cosine similarity"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0  fruit: a", "1  fruit: b", "2  company: c"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in m.flat)
    assert len(ax.lines) == 2                       # one horizontal and one vertical line between the senses
    assert ax.texts[1].get_position() == (1, 0)     # value m[0, 1] drawn at column 1, row 0


def test_heat_map_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="square"):
        P.show_similarity_matrix(np.eye(3), ["a", "b"])


def test_sense_curves_one_pair_of_lines_per_word_and_a_difference_panel():
    within = np.array([[0.9, 0.8, 0.85], [0.95, 0.9, 0.9]])
    across = within - np.array([[0.0, 0.1, 0.12], [0.0, 0.02, 0.05]])
    fig = P.show_sense_similarity_by_layer(within, across, ["apple", "bank"])
    left, right = fig.axes
    assert len(left.lines) == 4 and len(right.lines) == 3        # 2 words x (same, different); 2 differences + 0
    np.testing.assert_allclose(right.lines[0].get_ydata(), [0.0, 0.1, 0.12])
    assert [t.get_text() for t in left.get_legend().get_texts()][:2] == ["apple: same sense",
                                                                        "apple: different senses"]
    with pytest.raises(ValueError, match="same shape"):
        P.show_sense_similarity_by_layer(within, across[:, :2], ["apple", "bank"])


def qa_states(layers=3, tokens=8):
    gen = torch.Generator().manual_seed(0)
    roles = np.array([E.SPECIAL, E.QUESTION, E.QUESTION, E.SPECIAL, E.CONTEXT, E.ANSWER, E.CONTEXT, E.SPECIAL])
    names = ("[CLS]", "who", "?", "[SEP]", "it", "was", "me", "[SEP]")
    return E.QAHiddenStates(torch.randn(layers, tokens, 6, generator=gen), names, roles, "who?", "was")


def test_layer_pca_one_panel_per_layer_with_the_three_roles():
    fig = P.show_layer_pca(qa_states(layers=5), ncols=2)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 5 and len(fig.axes) == 6                    # 3 rows x 2, the last one switched off
    assert [ax.get_title() for ax in panels] == ["embedding output (layer 0)", "layer 1", "layer 2", "layer 3",
                                                 "layer 4"]
    counts = [len(c.get_offsets()) for c in panels[0].collections]
    assert counts == [2, 2, 1]                                        # question, context, answer; no special tokens
    assert sorted(t.get_text() for t in panels[0].texts) == sorted(["who", "?", "it", "was", "me"])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["question", "context", "answer"]


def test_layer_pca_selected_layers_and_bad_input():
    fig = P.show_layer_pca(qa_states(), layers=[0, -1], label_tokens=False)
    panels = [ax for ax in fig.axes if ax.collections]
    assert [ax.get_title() for ax in panels] == ["embedding output (layer 0)", "layer 2"]
    assert not panels[0].texts
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        P.show_layer_pca(qa_states(), layers=[3])
    with pytest.raises(TypeError, match="qa_hidden_states"):
        P.show_layer_pca(torch.zeros(3, 8, 6))
