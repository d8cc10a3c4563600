"""Notebook 02 end to end: the solution executes offline, and nbgrader grades solution and release correctly."""
import shutil

import nbformat
import pytest

from hwlib.demo import main as demo_main, printed_text
from notebook_course import ASSIGNMENT, NOTEBOOK, ROOT, make_course, nbgrader

QUICK_OFFLINE = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1"}


def test_demo_executes_solution_offline(tmp_path, monkeypatch, capsys):
    """`python -m hwlib.demo --quick` runs every cell of the solution offline (a broken cell fails here), the
    visible checks pass, saliency sits on the objects, and the HTML and figures land where it says."""
    monkeypatch.setenv("HWLIB_QUICK", "1")
    assert demo_main(["--quick", "--no-grading", "--out", str(tmp_path)]) == 0
    out_dir = tmp_path / ASSIGNMENT
    printed = capsys.readouterr().out
    assert str(out_dir / "network_visualization.html") in printed
    nb = nbformat.read(out_dir / NOTEBOOK, as_version=4)
    text = printed_text(nb)
    assert "source=offline" in text
    for part in ("saliency", "fooling-image", "class-visualization"):
        assert f"All visible {part} checks passed." in text
    ratios = [float(v) for v in text.split("inside / outside the object mask:")[1].split("]")[0].strip(" [").split()]
    assert sum(ratios) / len(ratios) >= 2.0, f"saliency should concentrate on the objects, got {ratios}"
    assert len(list(out_dir.glob("network_visualization_fig*.png"))) >= 4
    assert (out_dir / "network_visualization.html").stat().st_size > 50_000


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """nbgrader autograde of two submissions: the solution itself and the untouched student release."""
    course = make_course(tmp_path_factory.mktemp("autograde"))
    result = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    for student, source in (("solution", ROOT / "solutions"), ("untouched", ROOT / "notebooks")):
        target = course / "autograder" / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(source / ASSIGNMENT / NOTEBOOK, target / NOTEBOOK)
    result = nbgrader(course, "autograde", ASSIGNMENT, "--force", env=QUICK_OFFLINE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'autograder' / 'gradebook.db'}") as gb:
        return {s: (gb.find_submission(ASSIGNMENT, s).score, gb.find_submission(ASSIGNMENT, s).max_score)
                for s in ("solution", "untouched")}, result


def test_nbgrader_gives_solution_full_marks(graded):
    """`nbgrader autograde` on the solution notebook: every point."""
    scores, result = graded
    score, max_score = scores["solution"]
    assert max_score > 0 and score == max_score, result.stdout[-4000:] + result.stderr[-4000:]


def test_nbgrader_gives_untouched_release_zero(graded):
    """`nbgrader autograde` on the untouched student notebook: zero, without crashing."""
    scores, _ = graded
    assert scores["untouched"][0] == 0 and scores["untouched"][1] == scores["solution"][1]
