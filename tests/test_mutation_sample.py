"""The grader kills its mutants: a small fixed sample of mutants of every notebook's solution (python -m autograder
mutants runs them all), judged by the independent oracle in tests/mutation/. Each sampled mutant the oracle calls
wrong must lose points with the hidden checks, and each it calls equivalent must keep full marks."""
import pytest

from mutation.engine import run

# (functions, how many mutants spread over them): the cheap probes of each notebook, every operator family
SAMPLE = {
    "01_gradient_ascent": (("logit_gradient", "gradient_ascent"), 8),
    "02_network_visualization": (("compute_saliency_maps", "class_visualization_update_step"), 5),
    "03_adversarial_examples": (("compute_gradient", "fool_linear_classifier"), 6),
    "04_cnn_explanation": (("compute_saliency_maps",), 5),
    "05_bert_embeddings": (("euclidean_distance", "cosine_similarity", "get_select_embedding"), 6),
}


@pytest.mark.parametrize("assignment_id", sorted(SAMPLE))
def test_sampled_mutants_are_killed_and_equivalent_ones_keep_full_marks(assignment_id, one_torch_thread):
    functions, size = SAMPLE[assignment_id]
    table = run(assignment_id, functions=functions, sample=size, progress=None)
    assert table.generated == size
    assert table.wrong, "the sample holds no wrong mutant: it tests nothing"
    survivors = [f"{o.mutant.id} ({o.wrong})" for o in table.survivors]
    assert not survivors, f"wrong mutants that keep full marks: {survivors}"
    penalised = [f"{o.mutant.id} loses {o.lost}" for o in table.equivalent_penalised]
    assert not penalised, f"equivalent mutants that lose points: {penalised}"
