"""Write the mutation table into docs/grading.md (between markers, so the rest of the page is kept).

Notebooks measured in this run replace their row and their survivors' section; the other notebooks' rows and
sections of the page are kept (each notebook can be measured on its own: the full run takes long)."""
from __future__ import annotations

import re

from autograder.assignments import repo_root

BEGIN, END = "<!-- mutation table: begin -->", "<!-- mutation table: end -->"


def _parts(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(row per notebook, section per notebook) of a report."""
    rows, sections = {}, {}
    for line in text.splitlines():
        found = re.match(r"\| (\d\d_\w+) \|", line)
        if found:
            rows[found.group(1)] = line
    for found in re.finditer(r"^### (\S+)\n(.*?)(?=^### |\Z)", text, flags=re.S | re.M):
        sections[found.group(1)] = found.group(2).strip()
    return rows, sections


def write(tables, text: str) -> None:
    from .engine import HEADER

    path = repo_root() / "docs" / "grading.md"
    page = path.read_text() if path.exists() else ""
    old = page[page.index(BEGIN) + len(BEGIN):page.index(END)] if BEGIN in page and END in page else ""
    rows, sections = _parts(old)
    new_rows, new_sections = _parts(text)
    for t in tables:
        sections.pop(t.assignment, None)
    rows.update(new_rows)
    sections.update(new_sections)
    order = sorted(rows)
    body = "\n".join([HEADER, *(rows[a] for a in order), ""]
                     + [f"### {a}\n\n{sections[a]}\n" for a in order if a in sections])
    block = f"{BEGIN}\n{body.strip()}\n{END}"
    if BEGIN in page and END in page:
        page = page[:page.index(BEGIN)] + block + page[page.index(END) + len(END):]
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    path.write_text(page)
