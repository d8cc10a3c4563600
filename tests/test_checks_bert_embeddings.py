"""autograder.checks.bert_embeddings: the probes and verdicts judged with real functions (known-correct ones keep
full marks, each known bug gets its own hint), the solution's reference against an independent numpy oracle, and the
points of the hidden cells."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from autograder.assignments import solution_notebook
from autograder.check import SubmissionError
from autograder.checks import bert_embeddings as be
from autograder.course import hidden_cell_source
from autograder.reference import reference_outputs

ASSIGNMENT = be.ASSIGNMENT


@pytest.fixture(scope="module")
def context():
    return be.make_context("cpu")


@pytest.fixture(scope="module")
def reference():
    return reference_outputs(ASSIGNMENT)


def judge(check_name, fn, context, reference):
    check = next(c for c in ASSIGNMENT.checks if c.name == check_name)
    outputs = {k: np.asarray(v) for k, v in check.probe.run(fn, context).items()}
    return check.verify(outputs, reference[check.probe.name], context, check.tolerance)


# ---- independent implementations (numpy, float64) and bugs -------------------------------------------------------

def _same_shape(a, b):
    if a.shape != b.shape:
        raise ValueError("different shapes")


def euclidean(a, b):
    _same_shape(a, b)
    return float(np.sqrt(((a.cpu().double().numpy() - b.cpu().double().numpy()) ** 2).sum()))


def cosine(a, b):
    _same_shape(a, b)
    a, b = a.cpu().double().numpy(), b.cpu().double().numpy()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def select(output, tokenized_sentence, select_word_index, layer=-1):
    states = output.hidden_states
    if not -len(states) <= layer < len(states):
        raise ValueError("layer")
    tokens = [t for t, w in enumerate(tokenized_sentence.word_ids()) if w == select_word_index]
    if not tokens:
        raise ValueError("word")
    return torch.from_numpy(states[layer][0, tokens].double().cpu().numpy().mean(axis=0))


def test_the_solution_agrees_with_an_independent_oracle(context, reference):
    """The reference outputs (from the solution notebook) equal what plain numpy implementations give."""
    for name, probe_fn in (("euclidean_values", euclidean), ("cosine_values", cosine)):
        probe = next(c.probe for c in ASSIGNMENT.checks if c.name == name)
        np.testing.assert_allclose(probe.run(probe_fn, context)["values"], reference[name]["values"], rtol=1e-5,
                                   atol=1e-6)
    for name in ("select_word", "select_layers", "select_multi_token"):
        probe = next(c.probe for c in ASSIGNMENT.checks if c.name == name)
        np.testing.assert_allclose(probe.run(select, context)["embeddings"], reference[name]["embeddings"],
                                   rtol=1e-5, atol=1e-6)


def test_the_quiz_key_has_one_option_per_question(reference):
    key = reference["quiz"]
    assert len(key) == len(be.QUESTIONS) >= 6
    assert all(np.asarray(v).shape == (4,) and np.asarray(v).sum() == 1 for v in key.values())


@pytest.mark.parametrize("check, fn", [
    ("euclidean_values", euclidean), ("euclidean_errors", euclidean), ("cosine_values", cosine),
    ("cosine_errors", cosine), ("select_word", select), ("select_layers", select), ("select_multi_token", select),
    ("select_errors", select),
    ("euclidean_values", lambda a, b: torch.dist(a, b)),
    ("cosine_values", lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=0)),
    ("cosine_values", lambda a, b: (a * b).sum() / ((a ** 2).sum() ** 0.5 * (b ** 2).sum() ** 0.5 + 1e-8)),
    ("euclidean_values", lambda a, b: np.float32(np.linalg.norm(a.cpu().numpy() - b.cpu().numpy()))),
    ("select_word", lambda o, t, w, layer=-1: select(o, t, w, layer).numpy()),
])
def test_correct_implementations_pass(check, fn, context, reference):
    verdict = judge(check, fn, context, reference)
    assert verdict.passed, verdict.message


def _broadcasts(a, b):
    """Refuses different lengths, but lets torch broadcast a (1,) vector."""
    if a.numel() != b.numel() and min(a.numel(), b.numel()) > 1:
        raise ValueError("different lengths")
    return (a - b).norm()


@pytest.mark.parametrize("check, fn, hint", [
    ("euclidean_values", lambda a, b: ((a - b) ** 2).sum(), "squared distance"),
    ("euclidean_values", lambda a, b: (a - b).abs().sum(), "sqrt(sum((a - b) ** 2))"),
    ("cosine_values", lambda a, b: a @ b, "dot product"),
    ("cosine_values", lambda a, b: a @ b / a.norm(), "[-1, 1]"),
    ("cosine_values", lambda a, b: (a @ b / (a.norm() * b.norm())).half(), "cosine similarity ="),
    ("euclidean_errors", lambda a, b: (a - b).norm(),
     "raised another exception than ValueError for vectors of lengths 384 and 383"),
    ("euclidean_errors", _broadcasts, "returned a value for vectors of shapes (1,) and (384,)"),
    ("cosine_errors", lambda a, b: torch.dot(a, b) / (a.norm() * b.norm()),
     "raised another exception than ValueError for vectors of lengths 384 and 383"),
    ("euclidean_errors", lambda a, b: (_ for _ in ()).throw(ValueError("always")), "exception for valid input"),
])
def test_distance_bugs_fail_with_their_hint(check, fn, hint, context, reference):
    verdict = judge(check, fn, context, reference)
    assert not verdict.passed and hint in verdict.message, verdict.message


def _token_index(o, t, w, layer=-1):
    return o.hidden_states[layer][0, w]


def _first_token(o, t, w, layer=-1):
    return o.hidden_states[layer][0, t.word_to_tokens(w).start]


def _summed(o, t, w, layer=-1):
    span = t.word_to_tokens(w)
    return o.hidden_states[layer][0, span.start:span.end].sum(0)


def _one_token_per_word(o, t, w, layer=-1):
    return o.hidden_states[layer][0, w + 1]


@pytest.mark.parametrize("check, fn, hint", [
    ("select_word", _token_index, "word index as a token index"),
    ("select_word", _one_token_per_word, "one token per word"),
    ("select_multi_token", _first_token, "first token only"),
    ("select_multi_token", _summed, "summed"),
    ("select_layers", lambda o, t, w, layer=-1: select(o, t, w, -1), "always used the last layer"),
    ("select_layers", lambda o, t, w, layer=-1: select(o, t, w, layer + 1 if layer >= 0 else layer),
     "instead of the requested one"),
    ("select_layers", lambda o, t, w, layer=0: select(o, t, w, layer), "default must be the last layer"),
    ("select_errors", lambda o, t, w, layer=-1: o.hidden_states[layer % len(o.hidden_states)][0, 1],
     "returned a value for a word index one past the last word"),
])
def test_select_bugs_fail_with_their_hint(check, fn, hint, context, reference):
    verdict = judge(check, fn, context, reference)
    assert not verdict.passed and hint in verdict.message, verdict.message


@pytest.mark.parametrize("check, value, match", [
    ("euclidean_values", lambda a, b: (a - b).norm().unsqueeze(0), "one number"),
    ("cosine_values", lambda a, b: "0.5", "one number"),
    ("euclidean_values", lambda a, b: (a - b).norm().to("meta"), "device 'meta'"),
    ("select_word", lambda o, t, w, layer=-1: [0.0] * 384, "expected a torch.Tensor"),
])
def test_unusable_outputs_are_messages_not_crashes(check, value, match, context):
    probe = next(c.probe for c in ASSIGNMENT.checks if c.name == check)
    with pytest.raises(SubmissionError, match=match):
        probe.run(value, context)


@pytest.mark.parametrize("check", ["euclidean_values", "cosine_values"])
def test_non_finite_values_fail(check, context, reference):
    student = {"values": reference[check]["values"].copy()}
    student["values"][2] = np.nan
    verdict = next(c for c in ASSIGNMENT.checks if c.name == check).verify(student, reference[check], context, None)
    assert not verdict.passed and "NaN or infinite" in verdict.message
    student["values"][2] = np.inf
    assert not next(c for c in ASSIGNMENT.checks if c.name == check).verify(student, reference[check], context,
                                                                             None).passed


def test_non_finite_embeddings_fail(context, reference):
    check = next(c for c in ASSIGNMENT.checks if c.name == "select_word")
    student = {"embeddings": reference["select_word"]["embeddings"].copy()}
    student["embeddings"][0, 0] = np.inf
    verdict = check.verify(student, reference["select_word"], context, check.tolerance)
    assert not verdict.passed and "NaN or infinite" in verdict.message


def test_a_student_who_mutates_the_hidden_states_spoils_nothing(context, reference):
    def vandal(o, t, w, layer=-1):
        result = select(o, t, w, layer).clone()
        for h in o.hidden_states:
            h.zero_()
        return result
    assert judge("select_word", vandal, context, reference).passed
    assert judge("select_word", select, context, reference).passed


def test_contexts_are_deterministic(context):
    other = be.make_context("cpu")
    np.testing.assert_array_equal(other.pairs, context.pairs)
    for a, b in zip(other.states, context.states):
        np.testing.assert_array_equal(a, b)


def test_probe_inputs_are_what_the_checks_claim(context):
    """Word 4 of the last sentence spans several tokens, words are not tokens + 1 after it, and the apple of
    sentence 2 is word 0 (token 1, after [CLS])."""
    ids = np.asarray(context.word_ids[3])
    assert (ids == 4).sum() == 5 and np.flatnonzero(ids == 5)[0] != 5 + 1
    assert np.flatnonzero(np.asarray(context.word_ids[2]) == 0).tolist() == [1]


def test_hidden_cells_carry_the_points_of_their_checks():
    """One hidden cell per check, quiz questions included (nbgrader scores a cell all or nothing), each the
    registry's cell (course.hidden_cell_source) with its check's points."""
    nb = json.loads(solution_notebook(ASSIGNMENT).read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade")}
    assert sorted(cells) == sorted(f"test_{check.name}" for check in ASSIGNMENT.checks)
    for check in ASSIGNMENT.checks:
        cell = cells[f"test_{check.name}"]
        assert cell["metadata"]["nbgrader"]["points"] == check.points
        assert "".join(cell["source"]) == hidden_cell_source(ASSIGNMENT, check)
    assert ASSIGNMENT.max_points == 15


def test_the_stored_probe_states_are_current_and_equal_the_models_own():
    """The hidden states the context loads (``probe_states.npz``) are those the offline MiniLM computes now (the
    oracle: the model run through transformers), made from the installed model."""
    from autograder.checks.bert_embeddings import context as module

    stored = module.stored_states()
    assert stored is not None, ("probe_states.npz is missing or was made from another model: run "
                                "`python -m autograder sync`")
    computed = module.computed_states()
    assert stored[1] == computed[1]
    for mine, theirs in zip(stored[0], computed[0]):
        assert mine.dtype == np.float32 and mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)


def test_a_stale_or_broken_states_file_is_recomputed_never_used(tmp_path, monkeypatch):
    from autograder.checks.bert_embeddings import context as module

    copy = tmp_path / "states.npz"
    copy.write_bytes(module.STATES_FILE.read_bytes())
    assert module.stored_states(copy) is not None and module.write_probe_states(copy, check=True) == []
    monkeypatch.setattr(module, "states_fingerprint", lambda: "another model")
    assert module.stored_states(copy) is None                      # made from another model
    assert module.write_probe_states(copy, check=True) == [copy]   # what `sync --check` reports
    (tmp_path / "broken.npz").write_bytes(b"not an npz")
    assert module.stored_states(tmp_path / "broken.npz") is None
    assert module.stored_states(tmp_path / "missing.npz") is None


def test_the_trusted_side_never_loads_the_model_or_the_tokenizer():
    """The grader's context (what verdicts and the self-check use) comes from the stored states alone: no
    transformers model code, no tokenizer, so 05's grader starts in about the time torch takes to import."""
    import subprocess
    import sys

    code = ("import sys; from autograder.checks.bert_embeddings import make_context; c = make_context('cpu'); "
            "c.expected(0, 1, 'last'); print(sorted(m for m in sys.modules if m.startswith('transformers.models')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]


def test_states_stored_for_another_tokenization_stop_the_grader_with_the_fix(monkeypatch):
    """Hidden states whose tokens do not line up with the tokenizer's would send students misaligned inputs: the
    context refuses (a grader failure naming the fix), it never grades with them."""
    context = be.make_context("cpu")
    context.warm()   # the stored states agree with the installed tokenizer
    shifted = list(context.word_ids)
    shifted[2] = shifted[2][1:] + (-1,)
    monkeypatch.setattr(context, "word_ids", tuple(shifted))
    context.output(1)
    with pytest.raises(RuntimeError, match="autograder sync"):
        context.output(2)
