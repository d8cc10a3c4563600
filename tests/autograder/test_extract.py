"""autograder.extract: which code of a notebook gets graded."""
import json

import pytest

from autograder.extract import UnreadableNotebook, notebook_cells, solution_cells, strip_magics

FUNCTIONS = ("f", "g")


def code(source, grade_id=None, solution=False):
    meta = {"nbgrader": {"grade_id": grade_id, "solution": solution}} if grade_id else {}
    return {"cell_type": "code", "metadata": meta, "source": source, "outputs": []}


def test_solution_cells_in_notebook_order_and_nothing_else():
    """Only cells marked solution run, in notebook order, named by grade_id."""
    nb = {"cells": [code("x = 1"), code("def g():\n    return 2", "g", True), code("print('plot')", "plot"),
                    code("def f():\n    return 1", "f", True)]}
    assert [(c.name, c.index) for c in solution_cells(nb, FUNCTIONS)] == [("g", 1), ("f", 3)]


def test_function_pasted_into_a_new_cell_is_found():
    """A student who deleted the solution cell and wrote the function in a plain cell is still graded (the last
    definition wins, as when the notebook runs)."""
    nb = {"cells": [code("def f():\n    return 0"), code("def f():\n    return 1"), code("def g(): pass", "g", True)]}
    cells = solution_cells(nb, FUNCTIONS)
    assert [c.index for c in cells] == [1, 2] and "return 1" in cells[0].source


def test_reordered_duplicated_and_list_sources():
    """Reordered and duplicated solution cells all run in notebook order; list-of-lines sources are joined."""
    nb = {"cells": [code(["def g():\n", "    return 1\n"], "g", True), code("def f(): pass", "f", True),
                    code("def g():\n    return 2", "g", True)]}
    cells = solution_cells(nb, FUNCTIONS)
    assert [c.index for c in cells] == [0, 1, 2] and cells[0].source == "def g():\n    return 1"


def test_magics_become_pass_and_keep_blocks_valid():
    """`%pip` inside a try block still compiles after extraction."""
    source = "try:\n    import hwlib\nexcept ImportError:\n    %pip install hwlib\n!ls\nx = 1"
    compile(strip_magics(source), "<cell>", "exec")


def test_odd_grade_ids_and_metadata_do_not_break_extraction():
    """Garbage metadata or a grade_id with odd characters is survived (the cell gets a neutral name)."""
    nb = {"cells": [{"cell_type": "code", "metadata": "garbage", "source": "def f(): pass"},
                    code("def g(): pass", "../../etc/passwd", True), "not a cell"]}
    cells = solution_cells(nb, FUNCTIONS)
    assert [c.name for c in cells] == ["cell0", "cell1"]


@pytest.mark.parametrize("content, fragment", [("{\"cells\": [", "not a valid notebook"), ("[1, 2]", "not a Jupyter"),
                                               (b"\xff\xfe", "could not read")])
def test_unreadable_notebooks_say_why(tmp_path, content, fragment):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UnreadableNotebook, match=fragment):
        notebook_cells(path)


def test_real_release_has_one_cell_per_function(assignment):
    """The committed student notebook yields exactly the three function cells."""
    from autograder.assignments import release_notebook

    cells = notebook_cells(release_notebook(assignment), assignment.functions)
    assert [c.name for c in cells] == list(assignment.functions)
    assert all("NotImplementedError" in c.source for c in cells)
    json.dumps([c.source for c in cells])
