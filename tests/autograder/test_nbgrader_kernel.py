"""nbgrader's in-kernel grading: no reference output and no quiz key in the kernel, nothing written to the fast
grader's state, and the hidden cells refuse to run with grading code the student's cells replaced."""
import json
import subprocess
import sys

import pytest

from autograder.checks import network_visualization as nv

from autograder_helpers import example_cells

KERNEL = r'''
import json, os, sys
import numpy as np
from autograder.extract import Cell
from autograder.notebook_checks import check_function
from autograder.sandbox.runner import exec_cell, new_namespace
namespace = new_namespace()
for name, source in json.loads(sys.argv[1]).items():
    exec_cell(Cell(name, source, 0), namespace)
verdicts = [r for f in ("compute_saliency_maps",) for r in check_function(sys.argv[2], f, namespace)]

def arrays_in(value, depth=0):
    if isinstance(value, np.ndarray):
        return 1
    if depth < 3 and isinstance(value, dict):
        return sum(arrays_in(v, depth + 1) for v in list(value.values()))
    if depth < 3 and isinstance(value, (list, tuple)):
        return sum(arrays_in(v, depth + 1) for v in value)
    return 0

held = {f"{m}.{k}": n for m, mod in list(sys.modules.items()) if m.startswith("autograder")
        for k, v in list(vars(mod).items()) if not k.startswith("__") and (n := arrays_in(v))}
print("KERNEL" + json.dumps({"verdicts": verdicts, "reference_module": "autograder.reference" in sys.modules,
                             "held": held}))
'''


def test_the_kernel_holds_no_reference_and_writes_no_state(tmp_path):
    env_dirs = {"AUTOGRADER_CACHE": tmp_path / "cache", "AUTOGRADER_STATE": tmp_path / "state"}
    import os

    env = {**os.environ, **{k: str(v) for k, v in env_dirs.items()}}
    cells = example_cells("perfect.ipynb", nv.ASSIGNMENT)
    result = subprocess.run([sys.executable, "-c", KERNEL, json.dumps(cells), nv.ASSIGNMENT.id], env=env,
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    line = next((l for l in result.stdout.splitlines() if l.startswith("KERNEL")), None)
    assert line is not None, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(line[len("KERNEL"):])
    assert report["verdicts"] and all(passed for _, passed, _ in report["verdicts"]), report["verdicts"]
    assert report["reference_module"] is False, "the kernel imported the reference module"
    assert report["held"] == {}, "arrays kept in the kernel's grading modules"
    assert not any(d.exists() for d in env_dirs.values()), "the kernel wrote the fast grader's cache or state"


@pytest.mark.parametrize("target", ["autograder.sandbox.runner.run_probe", "autograder.notebook_checks.check_function",
                                    "autograder.sandbox.wire.encode_arrays"])
def test_a_hidden_cell_refuses_grading_code_replaced_by_the_student(target, monkeypatch):
    """A student's cell that replaces a function the hidden cells rely on makes every hidden cell fail."""
    import importlib

    from autograder import notebook_checks

    module_name, _, name = target.rpartition(".")
    monkeypatch.setattr(importlib.import_module(module_name), name, lambda *a, **k: [])
    with pytest.raises(AssertionError, match="modified in this notebook's kernel"):
        notebook_checks.run_hidden_checks(nv.ASSIGNMENT.id, "compute_saliency_maps", {})
