"""The student's code, taken out of a notebook by nbgrader cell metadata.

What runs is every code cell marked ``"solution": true`` (the cells students write in), in notebook order. A
required function that none of them defines is looked for in the other code cells (a student who pasted the
function into a new cell still gets graded); the last definition wins, as in a notebook run. Extra, reordered,
duplicated or deleted cells are fine; a broken cell costs only the functions it defines (see ``runner``).
IPython magics (``%pip``, ``!ls``) become ``pass`` so that the cell still compiles.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 50 * 2**20


class UnreadableNotebook(Exception):
    """The file is not a notebook we can read; the message says why, for the student."""


@dataclass(frozen=True)
class Cell:
    """One code cell to execute: ``name`` is its nbgrader grade_id (or ``cell<index>``), ``source`` its code."""
    name: str
    source: str
    index: int


def read_notebook(path: str | Path) -> dict:
    """The notebook as a JSON dict with a ``cells`` list.

    Raises:
        UnreadableNotebook: missing, too large, not JSON, or not shaped like a notebook.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise UnreadableNotebook(f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear its "
                                     "outputs (Edit > Clear all outputs) and submit again.")
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise UnreadableNotebook(f"could not read the file ({type(err).__name__}: {err}).") from None
    except json.JSONDecodeError as err:
        raise UnreadableNotebook(f"the file is not a valid notebook (JSON error at line {err.lineno}, column "
                                 f"{err.colno}: {err.msg}). Was it saved completely?") from None
    except RecursionError:
        raise UnreadableNotebook("the file is nested too deeply to be a notebook.") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook("the file is JSON but not a Jupyter notebook (no list of cells).")
    return nb


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


_MAGIC = re.compile(r"^(\s*)[%!]")


def strip_magics(source: str) -> str:
    """Replace IPython magic and shell lines (``%...``, ``!...``) by ``pass`` with the same indentation."""
    return "\n".join(_MAGIC.sub(r"\1pass  # ", line) if _MAGIC.match(line) else line
                     for line in source.splitlines())


def defines(source: str, function: str) -> bool:
    """Whether ``source`` has a top-level ``def function(`` (or ``class function``, or ``function = ...`` for
    values such as a quiz's answers)."""
    name = re.escape(function)
    return re.search(rf"^((async\s+)?def\s+{name}\s*\(|class\s+{name}\b|{name}\s*(:[^=\n]*)?=[^=])", source,
                     re.MULTILINE) is not None


def solution_cells(nb: dict, functions: tuple[str, ...] = ()) -> list[Cell]:
    """The code cells to execute for grading, in notebook order (see the module docstring)."""
    code = [(i, c) for i, c in enumerate(nb.get("cells", [])) if isinstance(c, dict) and c.get("cell_type") == "code"]
    chosen = {i: c for i, c in code if _nbgrader(c).get("solution") is True}
    for function in functions:
        if not any(defines(_source(c), function) for c in chosen.values()):
            found = [(i, c) for i, c in code if defines(_source(c), function)]
            if found:
                chosen[found[-1][0]] = found[-1][1]
    cells = []
    for i in sorted(chosen):
        grade_id = _nbgrader(chosen[i]).get("grade_id")
        name = grade_id if isinstance(grade_id, str) and re.fullmatch(r"[\w.-]{1,80}", grade_id) else f"cell{i}"
        cells.append(Cell(name, strip_magics(_source(chosen[i])), i))
    return cells


def notebook_cells(path: str | Path, functions: tuple[str, ...] = ()) -> list[Cell]:
    """``solution_cells(read_notebook(path), functions)``."""
    return solution_cells(read_notebook(path), functions)
