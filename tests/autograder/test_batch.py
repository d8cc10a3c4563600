"""autograder.batch: discovery, determinism, parallel == serial, resumable batches, Colab code, broken cells."""
import shutil

import pytest
from autograder_helpers import TEST_LIMITS, example_cells, notebook_with
from fixtures import examples_dir

from autograder.assignments import release_notebook
from autograder.batch import csv_text, find_submissions, grade_batch, result_path

SMALL = ("perfect", "one_bug", "hostile_os_exit", "wrong")


def grade(paths, assignment, out, **kwargs):
    subs = find_submissions(paths, assignment)
    log = []
    results = grade_batch(subs, assignment, out / "grades.csv", out / "feedback", limits=TEST_LIMITS, device="cpu",
                          log=log.append, **{"workers": 1, **kwargs})
    return {r.student: r for r in results}, log


@pytest.fixture(scope="module")
def serial(tmp_path_factory, assignment):
    """A few examples graded again, with one worker."""
    folder = tmp_path_factory.mktemp("serial-in")
    for name in SMALL:
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    out = tmp_path_factory.mktemp("serial-out")
    results, _ = grade([folder], assignment, out)
    return folder, out, results


def test_graded_twice_and_with_one_or_two_workers_gives_identical_rows(serial, example_batch, assignment):
    """The same submission graded again (1 worker here, 2 in the shared batch) -> byte-identical CSV rows."""
    _, out, _ = serial
    rows = dict(line.split(",", 1) for line in (out / "grades.csv").read_text().splitlines()[1:])
    shared = dict(line.split(",", 1) for line in example_batch.csv.splitlines()[1:])
    assert rows == {name: shared[name] for name in SMALL}


def test_rerun_skips_finished_submissions_and_force_regrades(serial, assignment, tmp_path):
    folder, out, first = serial
    work = tmp_path / "out"
    shutil.copytree(out, work)
    _, log = grade([folder], assignment, work)
    assert "4 already graded, 0 to grade" in log[0]
    # an interrupted run: one result missing -> only that one is graded again
    result_path(work / "feedback", "wrong").unlink()
    results, log = grade([folder], assignment, work)
    assert "3 already graded, 1 to grade" in log[0] and results["wrong"].total == first["wrong"].total
    # a changed submission is graded again; --force regrades everything
    shutil.copy(folder / "perfect.ipynb", tmp_path / "in.ipynb")
    (folder / "wrong.ipynb").write_text((folder / "perfect.ipynb").read_text())
    try:
        results, log = grade([folder], assignment, work)
        assert "3 already graded, 1 to grade" in log[0] and results["wrong"].total == 9
    finally:
        shutil.copy(examples_dir(assignment) / "wrong.ipynb", folder / "wrong.ipynb")
    _, log = grade([folder], assignment, work, force=True)
    assert "0 already graded, 4 to grade" in log[0]
    assert not list((work / "feedback").glob(".*.tmp")), "temporary files left behind"


def test_untouched_release_scores_zero_and_says_not_written(assignment, tmp_path):
    results, _ = grade([release_notebook(assignment)], assignment, tmp_path)
    (result,) = results.values()
    assert result.total == 0 and all("not written yet" in c.message for c in result.checks)


def test_colab_code_runs_on_a_cpu_grader(assignment, tmp_path):
    """Hard-coded `.cuda()`, `device="cuda"` and `torch.device("cuda")` still earn every point on a CPU."""
    cells = example_cells("perfect.ipynb")
    cells["compute_saliency_maps"] = cells["compute_saliency_maps"].replace(
        "    model.eval()\n", "    model.eval()\n    model.cuda()\n    X, y = X.cuda(), y.to('cuda')\n")
    cells["make_fooling_image"] = cells["make_fooling_image"].replace(
        "X_fooling = X.detach().clone()", "X_fooling = X.detach().clone().to(torch.device('cuda'))")
    cells["class_visualization_update_step"] = cells["class_visualization_update_step"].replace(
        "score = model(img)", "model.to(device='cuda')\n    score = model(img.cuda())")
    assert cells != example_cells("perfect.ipynb")
    path = tmp_path / "colab.ipynb"
    path.write_text(notebook_with(cells))
    results, _ = grade([path], assignment, tmp_path / "out")
    assert results["colab"].total == 9, [c.message for c in results["colab"].checks]


def test_a_broken_cell_costs_only_its_function(assignment, tmp_path):
    """A syntax error in the fooling cell and an extra broken cell: only make_fooling_image's checks are lost."""
    cells = example_cells("perfect.ipynb")
    cells["make_fooling_image"] += "\n    return )("
    path = tmp_path / "broken.ipynb"
    path.write_text(notebook_with(cells))
    results, _ = grade([path], assignment, tmp_path / "out")
    result = results["broken"]
    lost = {c.function for c in result.checks if not c.passed}
    assert lost == {"make_fooling_image"} and result.total == 6
    assert any("does not compile" in c.message for c in result.checks)


def test_nbgrader_submitted_layout_and_student_ids(assignment, tmp_path):
    for student in ("alice", "bob"):
        target = tmp_path / "submitted" / student / assignment.id
        target.mkdir(parents=True)
        shutil.copy(examples_dir(assignment) / "wrong.ipynb", target / assignment.notebook)
    subs = find_submissions([tmp_path / "submitted"], assignment)
    assert [s.student for s in subs] == ["alice", "bob"]
    one = find_submissions([tmp_path / "submitted" / "bob" / assignment.id / assignment.notebook], assignment)
    assert [s.student for s in one] == ["bob"]


def test_duplicate_and_missing_submissions_are_errors(assignment, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        shutil.copy(examples_dir(assignment) / "wrong.ipynb", tmp_path / d / "same.ipynb")
    with pytest.raises(ValueError, match="more than one submission for: same"):
        find_submissions([tmp_path / "a", tmp_path / "b"], assignment)
    with pytest.raises(ValueError, match="not found"):
        find_submissions([tmp_path / "nope.ipynb"], assignment)


def test_csv_of_no_results_has_the_header_only(assignment):
    assert csv_text([], assignment).count("\n") == 1
