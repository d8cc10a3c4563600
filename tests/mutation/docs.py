"""Write the mutation table into docs/grading.md (between markers, so the rest of the page is kept)."""
from __future__ import annotations

from autograder.assignments import repo_root

BEGIN, END = "<!-- mutation table: begin -->", "<!-- mutation table: end -->"


def write(tables, text: str) -> None:
    path = repo_root() / "docs" / "grading.md"
    page = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text.strip()}\n{END}"
    if BEGIN in page and END in page:
        page = page[:page.index(BEGIN)] + block + page[page.index(END) + len(END):]
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    path.write_text(page)
