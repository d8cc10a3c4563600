"""The import graph only points down: hwlib <- core <- checks <- grading <- batch <- front ends, and the sandbox
needs only core (it is given its paths and the registry lookup)."""
import subprocess
import sys

from autograder import importgraph


def test_no_module_imports_a_layer_above_its_own():
    """Does any module import a layer it may not (``python -m autograder.importgraph`` exits 1 then)?"""
    _, back, _, _ = importgraph.graph()
    assert back == []


def test_the_sandbox_imports_neither_hwlib_nor_the_registry():
    """Is everything the sandbox imports from this repository core code (check, extract, runner, text)?"""
    known = importgraph.modules()
    for name, path in known.items():
        if name == "autograder.sandbox" or name.startswith("autograder.sandbox."):
            for target in importgraph.imports_of(name, path):
                assert not target.startswith(("hwlib", "autograder.assignments", "autograder.checks")), (name, target)


def test_the_script_prints_the_graph_and_exits_zero():
    """Does the command print every layer and succeed on this tree?"""
    out = subprocess.run([sys.executable, "-m", "autograder.importgraph"], capture_output=True, text=True,
                         cwd=importgraph.ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    for layer in importgraph.LAYERS:
        assert f"\n{layer} " in "\n" + out.stdout


def test_a_back_edge_is_found(tmp_path, monkeypatch):
    """Would a core module that imports the batch be reported?"""
    package = tmp_path / "autograder"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "check.py").write_text("def f():\n    from .batch import grade_batch\n")
    (package / "batch.py").write_text("from .check import f\n")
    (tmp_path / "hwlib").mkdir()
    (tmp_path / "hwlib" / "__init__.py").write_text("")
    monkeypatch.setattr(importgraph, "ROOT", tmp_path)
    _, back, _, _ = importgraph.graph()
    assert back == ["autograder.check (core) imports autograder.batch (batch)"]
