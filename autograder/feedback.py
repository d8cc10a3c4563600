"""The per-student feedback page: one self-contained HTML file (pictures embedded as base64 PNG).

Feedback never gives the answer away. A check's :class:`~autograder.check.Figure` shows the student's picture in
full, but the reference picture in full only when the check marked it ``reference_safe`` (a picture that cannot be
decoded into a passing answer, e.g. a step's magnitude when the check needs its sign; each check says why in its
docstring). Every other reference picture is drawn as a coarse view (``images.coarse``: 8 x 8 block means at 4
levels, captioned "reference (coarse view)"): where the reference is bright, not pixels that would pass. A
picture that cannot be drawn (an odd shape, more than ``images.MAX_SIDE`` pixels a side) is left out with a note.
"""
from __future__ import annotations

import html

from .check import Figure
from .grade import SubmissionResult
from .images import figure_pngs

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ddd; padding: 6px; }
th { text-align: left; } .pass { color: #1a7f37; } .fail { color: #c62828; } .pts { white-space: nowrap; }
.figure { display: inline-block; margin: 0 1.5em 1em 0; vertical-align: top; }
.figure img { image-rendering: pixelated; border: 1px solid #ccc; width: 192px; } figcaption { font-size: 90%; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; max-height: 24em; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _figure(figure: Figure) -> str:
    try:
        safe = getattr(figure, "reference_safe", False) is True
        student, reference = figure_pngs(figure.student, figure.reference, figure.kind, safe)
    except Exception as err:  # an output too odd to draw must not cost the page
        return f"<p>{_e(figure.title)}: could not be drawn ({_e(type(err).__name__)}).</p>"
    sides = ((student, "your output"), (reference, "reference" if safe else "reference (coarse view)"))
    cells = "".join(f'<figure class="figure"><img src="data:image/png;base64,{png}" alt="{_e(label)}">'
                    f"<figcaption>{_e(label)}</figcaption></figure>" for png, label in sides)
    return f"<h4>{_e(figure.title)}</h4><div>{cells}</div>"


def render(result: SubmissionResult, figures: dict[str, tuple[Figure, ...]]) -> str:
    """The HTML page for ``result``; ``figures`` maps check names to their pictures."""
    rows = "".join(
        f'<tr><td>{_e(c.name)}</td><td><code>{_e(c.function)}</code></td><td>{_e(c.description)}</td>'
        f'<td class="pts {"pass" if c.passed else "fail"}">{"✔" if c.passed else "✘"} {c.points:g} / '
        f"{c.max_points:g}</td><td>{_e(c.message)}</td></tr>" for c in result.checks)
    pictures = "".join(f"<h3>{_e(name)}</h3>" + "".join(_figure(f) for f in figs)
                       for name, figs in figures.items() if figs)
    notes = "".join(f"<li><pre>{_e(n)}</pre></li>" for n in result.notes)
    output = ""
    if result.output_bytes:
        shown = len(result.output_tail.encode())
        cut = f" (last {shown} of {result.output_bytes} bytes)" if result.output_bytes > shown else ""
        output = f"<h2>What your code printed{cut}</h2><pre>{_e(result.output_tail)}</pre>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(result.assignment)}: {_e(result.student)}</title>
<style>{STYLE}</style></head><body>
<h1>{_e(result.assignment)} — feedback for {_e(result.student)}</h1>
<p><strong>Score: {result.total:g} / {result.max:g}</strong></p>
<table><tr><th>check</th><th>function</th><th>what it checks</th><th>points</th><th>details</th></tr>{rows}</table>
{"<h2>Notes</h2><ul>" + notes + "</ul>" if notes else ""}
{"<h2>Your pictures next to the reference</h2>" + pictures if pictures else ""}
{output}
<p style="color:#888;font-size:85%">Graded by the course autograder (isolation: {_e(result.isolation)}).
Your functions ran on fixed inputs with the offline model; the comparisons ran outside your code.</p>
</body></html>
"""
