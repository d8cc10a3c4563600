"""What the unsandboxed parent reads of a submission: bounded before parsing, every file gets a row, names that
look alike are told apart, and the encodings and formats Jupyter saves are read."""
import codecs
import json
import resource
import unicodedata

import pytest

from autograder.batch import find_submissions, student_id
from autograder.extract import UnreadableNotebook
from autograder.grade import MAX_CONTAINERS, parse_cells
from fixtures import examples_dir


def test_a_notebook_of_nested_empty_objects_is_refused_before_parsing(assignment):
    count = 8 * 2**20                             # 24 MB of "{},": 8 million dicts, ~1 GB once parsed
    bomb = b'{"cells": [' + b"{}," * (count - 1) + b"{}]}"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UnreadableNotebook, match="JSON objects and lists"):
        parse_cells(bomb, assignment.functions)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"the parent's peak memory grew by {grown_mb:.0f} MB"
    with pytest.raises(UnreadableNotebook, match="nested"):
        parse_cells(b'{"cells": [' + b"[" * 5000 + b"]" * 5000 + b"]}", assignment.functions)
    assert MAX_CONTAINERS >= 100_000


def perfect_bytes(assignment) -> bytes:
    return (examples_dir(assignment) / "perfect.ipynb").read_bytes()


def as_nbformat3(nb: dict) -> dict:
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell["input"] = cell.pop("source")
            cell["language"] = "python"
        cells.append(cell)
    return {"nbformat": 3, "nbformat_minor": 0, "metadata": nb.get("metadata", {}),
            "worksheets": [{"cells": cells, "metadata": {}}]}


@pytest.mark.parametrize("form", ["utf-8-bom", "utf-16", "nbformat-3"])
def test_a_full_score_notebook_saved_otherwise_is_read_the_same(assignment, form):
    data = perfect_bytes(assignment)
    text = data.decode("utf-8")
    other = {"utf-8-bom": codecs.BOM_UTF8 + data, "utf-16": text.encode("utf-16"),
             "nbformat-3": json.dumps(as_nbformat3(json.loads(text))).encode()}[form]
    expected = parse_cells(data, assignment.functions)
    assert expected and parse_cells(other, assignment.functions) == expected


def test_hidden_and_dot_names_get_a_row(assignment, tmp_path):
    for name in (".hidden.ipynb", "....ipynb", "plain.ipynb"):
        (tmp_path / name).write_bytes(b"{}")
    found = {s.path.name for s in find_submissions([tmp_path], assignment)}
    assert found == {".hidden.ipynb", "....ipynb", "plain.ipynb"}


def test_nfc_and_nfd_spellings_do_not_look_identical():
    nfc, nfd = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
    assert student_id(nfc) == nfc
    assert student_id(nfd) != student_id(nfc) and "%cc%81" in student_id(nfd)
