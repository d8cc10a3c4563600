"""hwlib.embeddings: one padded batch equals one sentence at a time; PCA, similarity and sense statistics against
independent implementations; and the notebook's claim - same-sense contexts closer than cross-sense ones - measured
with a plain numpy cosine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import hwlib
from hwlib import embeddings as E


@pytest.fixture(scope="module")
def minilm():
    return hwlib.load_bert("offline", device="cpu")


@pytest.fixture(scope="module")
def offline_sets():
    return hwlib.load_sense_sentences("offline")


@pytest.fixture(scope="module")
def batch(minilm, offline_sets):
    sentences = [s for ws in offline_sets for s in ws.sentences]
    return sentences, hwlib.embed_sentences(minilm.model, minilm.tokenizer, sentences)


def test_batched_embedding_equals_one_sentence_at_a_time(minilm, batch):
    """Padding and the attention mask change nothing: every layer of every sentence matches its own run."""
    model, tokenizer = minilm.model, minilm.tokenizer
    sentences, (outputs, tokenized) = batch
    assert len(outputs) == len(tokenized) == len(sentences) == 40
    for sentence, output, encoding in zip(sentences, outputs, tokenized):
        alone = tokenizer(sentence, return_tensors="pt")
        assert torch.equal(encoding["input_ids"], alone["input_ids"]) and encoding.word_ids() == alone.word_ids()
        with torch.no_grad():
            want = model(**alone).hidden_states
        assert len(output.hidden_states) == len(want) == 7
        for got, expected in zip(output.hidden_states, want):
            assert got.shape == expected.shape and not got.requires_grad
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=2e-5)
        assert output.last_hidden_state is output.hidden_states[-1]


def test_sentences_of_different_lengths_were_really_padded(batch):
    _, (outputs, _) = batch
    assert len({o.hidden_states[0].shape[1] for o in outputs}) > 3


def test_outputs_are_independent_copies(minilm):
    outputs, _ = hwlib.embed_sentences(minilm.model, minilm.tokenizer, ["a bank", "the river bank"])
    before = outputs[1].hidden_states[3].clone()
    outputs[0].hidden_states[3].zero_()
    torch.testing.assert_close(outputs[1].hidden_states[3], before)


def test_the_model_is_left_as_it_was(minilm):
    state = {k: v.clone() for k, v in minilm.model.state_dict().items()}
    hwlib.embed_sentences(minilm.model, minilm.tokenizer, ["a bank"])
    assert not minilm.model.training and torch.is_grad_enabled()
    for key, value in minilm.model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("bad, error, match", [
    ("a single sentence", TypeError, "wrap it in a list"),
    ([], ValueError, "empty list"),
    (["fine", ""], TypeError, r"sentences\[1\]"),
    (["fine", 3], TypeError, r"sentences\[1\]"),
])
def test_bad_sentences_are_clear_errors(minilm, bad, error, match):
    with pytest.raises(error, match=match):
        hwlib.embed_sentences(minilm.model, minilm.tokenizer, bad)


def numpy_cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_same_sense_is_closer_than_cross_sense_at_every_layer_after_the_embeddings(offline_sets, batch):
    """The notebook's claim, measured independently: word vector = mean of its tokens (word_ids), numpy cosine,
    within-sense mean > across-sense mean for every offline word at layers 1..6, and apple/bank by > 0.05 at the
    last layer."""
    _, (outputs, tokenized) = batch
    start = 0
    for ws in offline_sets:
        labels = np.asarray(ws.senses)
        for layer in range(1, 7):
            vectors = []
            for k, word in enumerate(ws.word_indices):
                tokens = [t for t, w in enumerate(tokenized[start + k].word_ids()) if w == word]
                vectors.append(outputs[start + k].hidden_states[layer][0, tokens].mean(0).numpy())
            sim = np.array([[numpy_cosine(a, b) for b in vectors] for a in vectors])
            same, off = labels[:, None] == labels[None, :], ~np.eye(len(labels), dtype=bool)
            within, across = sim[same & off].mean(), sim[~same].mean()
            assert within > across, (ws.word, layer, within, across)
            assert hwlib.sense_similarity(sim, ws.senses) == pytest.approx((within, across))
            if layer == 6 and ws.word in ("apple", "bank"):
                assert within - across > 0.05, (ws.word, within, across)
        start += len(ws)


def test_qa_hidden_states_mark_question_context_and_answer(minilm):
    model, tokenizer = minilm.model, minilm.tokenizer
    states = hwlib.qa_hidden_states(model, tokenizer, hwlib.QA_PAIRS)
    assert len(states) == 3
    for qa, pair in zip(states, hwlib.QA_PAIRS):
        alone = tokenizer(pair.question, pair.context, return_tensors="pt")
        with torch.no_grad():
            want = torch.cat(model(**alone).hidden_states)              # (L + 1, T, H)
        torch.testing.assert_close(qa.hidden_states, want, rtol=1e-4, atol=2e-5)
        question_tokens = tokenizer.tokenize(pair.question)
        assert [t for t, r in zip(qa.tokens, qa.roles) if r == E.QUESTION] == question_tokens
        assert list(qa.roles).count(E.SPECIAL) == 3                      # [CLS] and two [SEP]
        answer = [t for t, r in zip(qa.tokens, qa.roles) if r == E.ANSWER]
        occurrences = pair.context.lower().count(pair.answer.lower())
        assert "".join(answer).replace("##", "") == pair.answer.lower() * occurrences
    with pytest.raises(TypeError, match="question/context/answer"):
        hwlib.qa_hidden_states(model, tokenizer, ["what?"])


def test_check_layer_accepts_python_indices_and_names_the_range():
    assert E.check_layer(0, 7) == 0 and E.check_layer(6, 7) == 6 and E.check_layer(-1, 7) == 6
    assert E.check_layer(-7, 7) == 0 and E.check_layer(torch.tensor(2), 7) == 2
    for bad in (7, -8, 100):
        with pytest.raises(ValueError, match=r"\[0, 6\]"):
            E.check_layer(bad, 7)
    for bad in (1.0, True, "3", None):
        with pytest.raises(TypeError, match="integer layer"):
            E.check_layer(bad, 7)


def test_pca_per_layer_matches_scikit_learn_in_one_batched_call():
    from sklearn.decomposition import PCA

    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 30, 16, generator=gen) * torch.linspace(3, 0.1, 16)
    coords = hwlib.pca_per_layer(hidden)
    assert coords.shape == (4, 30, 2) and coords.dtype == np.float64
    for layer in range(4):
        reference = PCA(n_components=2, random_state=0).fit_transform(hidden[layer].double().numpy())
        for c in range(2):       # a principal direction is defined up to its sign
            sign = np.sign(coords[layer, :, c] @ reference[:, c])
            np.testing.assert_allclose(coords[layer, :, c], sign * reference[:, c], atol=1e-8)
        np.testing.assert_allclose(hwlib.pca_per_layer(hidden[layer:layer + 1])[0], coords[layer], atol=1e-10)


@pytest.mark.parametrize("bad, error", [(np.zeros((2, 3, 4)), TypeError), (torch.zeros(3, 4), ValueError),
                                        (torch.zeros(2, 1, 4), ValueError), (torch.zeros(2, 3, 4, dtype=torch.int64),
                                                                            TypeError)])
def test_pca_per_layer_refuses_bad_input(bad, error):
    with pytest.raises(error, match=r"\(L, T, H\)"):
        hwlib.pca_per_layer(bad)


def test_similarity_matrix_calls_the_metric_on_every_pair():
    vectors = [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), np.array([3.0, 4.0], dtype=np.float32)]
    matrix = hwlib.similarity_matrix(vectors, lambda a, b: a @ b)
    np.testing.assert_array_equal(matrix, [[1, 0, 3], [0, 4, 8], [3, 8, 25]])
    assert hwlib.similarity_matrix(torch.eye(2), lambda a, b: float(a @ b)).tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("vectors, metric, error, match", [
    ([torch.zeros(3), torch.zeros(4)], lambda a, b: 0.0, ValueError, r"embeddings\[1\]"),
    ([torch.zeros(3)], lambda a, b: a - b, ValueError, "one number"),
    ([torch.ones(3)], lambda a, b: float("nan"), ValueError, "finite"),
    ([torch.ones(3)], lambda a, b: "close", TypeError, "one number"),
    ([torch.ones(3)], "cosine", TypeError, "function of two vectors"),
    ([], lambda a, b: 0.0, TypeError, "non-empty list"),
])
def test_similarity_matrix_bad_input_is_a_clear_error(vectors, metric, error, match):
    with pytest.raises(error, match=match):
        hwlib.similarity_matrix(vectors, metric)


def test_sense_similarity_known_answer_and_errors():
    m = np.array([[1.0, 0.9, 0.2], [0.9, 1.0, 0.4], [0.2, 0.4, 1.0]])
    assert hwlib.sense_similarity(m, [0, 0, 1]) == pytest.approx((0.9, 0.3))
    with pytest.raises(ValueError, match="two senses"):
        hwlib.sense_similarity(m, [0, 1, 2])
    with pytest.raises(ValueError, match="square"):
        hwlib.sense_similarity(m[:2], [0, 0])


def test_qa_layer_similarity_known_answer():
    """Tokens: [CLS] q:x q:y [SEP] c:x c:ans [SEP]; orthogonal unit vectors except the two x's (cosine 0.6)."""
    h = torch.zeros(7, 4)
    h[[0, 3, 6]] = torch.tensor([0.0, 0.0, 0.0, 1.0])
    h[1], h[2] = torch.tensor([1.0, 0, 0, 0]), torch.tensor([0, 1.0, 0, 0])
    h[4], h[5] = torch.tensor([0.6, 0, 0.8, 0]), torch.tensor([0, 0, 1.0, 0])
    roles = np.array([E.SPECIAL, E.QUESTION, E.QUESTION, E.SPECIAL, E.CONTEXT, E.ANSWER, E.SPECIAL])
    tokens = ("[CLS]", "x", "y", "[SEP]", "x", "ans", "[SEP]")
    qa = E.QAHiddenStates(h.unsqueeze(0), tokens, roles, "x y?", "ans")
    stats = hwlib.qa_layer_similarity(qa)
    # q:x's nearest is c:x (0.6), but c:x's nearest is ans (0.8): half the repeated tokens
    assert stats["same_word"] == pytest.approx([0.6]) and stats["nearest_same_word"] == pytest.approx([0.5])
    assert stats["different_words"] == pytest.approx([(0 + 0 + 0 + 0 + 0.8) * 2 / 10])
    assert stats["answer_to_question"] == pytest.approx([0.0])
    assert stats["context_to_question"] == pytest.approx([(0.6 + 0.0) / 2])
