"""autograder.feedback: one self-contained HTML page per student, pictures next to the reference."""
import base64
import re

from autograder.demo import table
from autograder.feedback import render
from autograder.grade import CheckResult, SubmissionResult


def pngs(html):
    return [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)]


def test_image_outputs_are_shown_next_to_the_reference(example_batch):
    """one_bug's page: every picture as 'your output' next to the reference (in full, or its coarse view where the
    check did not mark it safe)."""
    html = (example_batch.out / "feedback" / "one_bug.html").read_text()
    images = pngs(html)
    assert len(images) >= 12 and all(png.startswith(b"\x89PNG") for png in images)
    references = html.count('alt="reference"') + html.count('alt="reference (coarse view)"')
    assert html.count('alt="your output"') == references == len(images) // 2
    result = example_batch.results["one_bug"]
    assert f"Score: {result.total:g} / {result.max:g}" in html


def test_every_example_has_its_own_page(example_batch):
    pages = {p.stem for p in (example_batch.out / "feedback").glob("*.html")}
    assert pages == set(example_batch.results)


def test_student_text_is_escaped():
    """Printed output and messages cannot inject HTML into the page."""
    result = SubmissionResult("eve<script>", "a", "x.ipynb", "0", "k",
                              [CheckResult("c", "f", "d", 0.0, 1.0, "<img src=x onerror=alert(1)>")],
                              notes=["<b>note</b>"], output_tail="<script>alert(1)</script>", output_bytes=30)
    html = render(result, {})
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


def test_grade_table_for_the_demo(example_batch, assignment):
    results = [example_batch.results[n] for n in ("perfect", "wrong")]
    text = table(results, assignment)
    assert "saliency_batch" in text.splitlines()[0]
    assert text.splitlines()[2].startswith("perfect") and text.splitlines()[2].endswith("9/9")
