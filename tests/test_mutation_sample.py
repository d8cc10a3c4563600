"""The grader kills its mutants: a small fixed sample of mutants of every notebook's solution (python -m autograder
mutants runs them all), judged by the independent oracle in tests/mutation/. Each sampled mutant the oracle calls
wrong must lose points with the hidden checks, and each it calls equivalent must keep full marks. One notebook's
visible checks are sampled too: a correct (equivalent) mutant passes every visible check, and the visible checks
flag some of the wrong ones."""
import pytest

from mutation.engine import run

# (functions, how many mutants spread over them): the cheap probes of each notebook, every operator family
SAMPLE = {
    "01_gradient_ascent": (("logit_gradient", "gradient_ascent"), 8),
    "02_network_visualization": (("compute_saliency_maps", "class_visualization_update_step"), 5),
    "03_adversarial_examples": (("compute_gradient", "fgsm", "fool_linear_classifier"), 8),
    "04_cnn_explanation": (("compute_saliency_maps", "smooth_grad"), 8),
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


def test_visible_checks_pass_equivalent_mutants_and_flag_wrong_ones(one_torch_thread):
    """Notebook 02's update step (its notebook runs in seconds): the clear-.grad-before-backward() mutant is
    equivalent and must pass the visible cell; the sample's wrong mutants are mostly flagged there."""
    table = run("02_network_visualization", functions=("class_visualization_update_step",), sample=6, visible=True,
                progress=None)
    flagged = [f"{o.mutant.id} ({o.visible})" for o in table.equivalent_visible_flagged]
    assert not flagged, f"equivalent mutants that a visible check rejects: {flagged}"
    assert table.wrong and len(table.killed_visible) >= len(table.wrong) / 2, \
        [(o.mutant.id, o.visible) for o in table.wrong]
