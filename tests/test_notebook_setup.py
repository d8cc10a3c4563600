"""hwlib.setup_notebook and the course-wide first cells: one call, one status line, and a Colab runtime without
hwlib installs it from the course's pip spec."""
from pathlib import Path

import nbformat
import pytest
import torch

import hwlib
from autograder.assignments import registered, solution_notebook
from autograder.course import INSTALL, course_config, parameters_cell, sync
from autograder.notebook_run import execute_notebook, printed_text


def test_setup_resolves_source_device_seed_and_prints_one_line(capsys):
    setup = hwlib.setup_notebook("offline", seed=3, quick=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "source=offline" in lines[0] and "seed=3" in lines[0] and "quick mode" in lines[0]
    assert setup.source == "offline" and setup.device == hwlib.get_device("auto")
    a = torch.rand(3)
    hwlib.setup_notebook("offline", seed=3, verbose=False)
    assert torch.equal(a, torch.rand(3)), "the seed must make torch's draws repeatable"
    if not torch.cuda.is_available():
        assert "Change runtime type > GPU" in lines[0]


def test_setup_auto_without_network_is_offline_and_bad_input_is_clear(empty_cache):
    assert hwlib.setup_notebook("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS, verbose=False).source == "offline"
    with pytest.raises(ValueError, match="source: expected one of"):
        hwlib.setup_notebook("internet")
    with pytest.raises(ValueError, match="seed: expected a non-negative int"):
        hwlib.setup_notebook("offline", seed=-1)


def test_every_solution_notebook_starts_with_the_course_cells():
    """Else: `make notebooks` (python -m autograder.course sync, then nbgrader)."""
    assert sync(check=True) == []
    params = parameters_cell(course_config())
    for assignment in registered():
        nb = nbformat.read(solution_notebook(assignment), as_version=4)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
        assert cells["parameters"] == params
        assert cells["setup"].startswith(INSTALL) and "hwlib.setup_notebook(" in cells["setup"]


FAKE_COLAB = '''
import sys, types, importlib.abc
colab = types.ModuleType("google.colab")
sys.modules["google"] = types.ModuleType("google"); sys.modules["google.colab"] = colab

class _NoHwlib(importlib.abc.MetaPathFinder):          # hwlib is not installed on a fresh Colab runtime
    def find_spec(self, name, path=None, target=None):
        if name == "hwlib" or name.startswith("hwlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _NoHwlib())
for _m in [m for m in sys.modules if m == "hwlib" or m.startswith("hwlib.")]:
    del sys.modules[_m]
PIP_CALLS = []

def _fake_pip(line):                                  # records the spec; "installs" by lifting the block
    PIP_CALLS.append(line)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _NoHwlib)]

get_ipython().register_magic_function(_fake_pip, magic_kind="line", magic_name="pip")
'''


def test_a_colab_runtime_without_hwlib_installs_it_from_the_course_spec(tmp_path):
    """The released notebooks' first cells on a fake Colab (stub google.colab, no hwlib, no network)."""
    spec = course_config()["pip_spec"]
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(FAKE_COLAB),
        nbformat.v4.new_code_cell(parameters_cell(course_config())),
        nbformat.v4.new_code_cell(INSTALL + "course = hwlib.setup_notebook(SOURCE, quick=QUICK)\n"),
        nbformat.v4.new_code_cell("print('PIP_CALLS', PIP_CALLS)"),
    ])
    path = tmp_path / "colab.ipynb"
    nbformat.write(nb, path)
    env = {"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1", "HWLIB_QUICK": "1"}
    text = printed_text(execute_notebook(path, env=env, timeout=300))
    assert f"PIP_CALLS ['install --quiet \"{spec}\"']" in text, text
    assert "runtime=colab" in text and "source=offline" in text


FIGURES = '''
import hwlib, matplotlib.pyplot as plt, numpy as np, torch
course = hwlib.setup_notebook("offline", quick=True, verbose=False)
plt.plot([0, 1], [1, 0]); plt.title("a line plot");
'''
GRID = '''
images = torch.rand(10, 3, 32, 32)
hwlib.plotting_explanations.show_explanations(images, [("noise", images.mean(1), "heat")], [str(i) for i in range(10)]);
'''


def test_photo_grids_are_shown_as_jpeg_and_other_figures_as_png_at_100_dpi(tmp_path):
    """The setup call keeps line plots PNG and shows the figures marked photo-like (hwlib.notebook.show_as_jpeg:
    notebook 04's ten-image grids) as JPEG only, at >= 100 dpi; a second setup call changes nothing."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIGURES), nbformat.v4.new_code_cell(GRID),
                                         nbformat.v4.new_code_cell(FIGURES + "import matplotlib\n"
                                                                   "print('dpi', matplotlib.rcParams['figure.dpi'])"),
                                         nbformat.v4.new_code_cell(GRID)])
    path = tmp_path / "figures.ipynb"
    nbformat.write(nb, path)
    nb = execute_notebook(path, env={"HWLIB_SOURCE": "offline", "HWLIB_NO_NETWORK": "1"}, timeout=300)
    shown = [sorted(k for k in o.get("data", {}) if k.startswith("image/")) for c in nb.cells for o in c.outputs
             if o.get("output_type") == "display_data"]
    assert shown == [["image/png"], ["image/jpeg"], ["image/png"], ["image/jpeg"]], shown
    assert "dpi 100" in printed_text(nb)
    with pytest.raises(ValueError, match="dpi: expected at least 100"):
        hwlib.setup_notebook("offline", dpi=72, verbose=False)


PRINTED = sorted((Path(__file__).parent / "fixtures" / "printed").glob("*.txt"))


@pytest.mark.parametrize("printout", PRINTED, ids=lambda p: p.stem)
def test_claim_tables_hold_on_recorded_printouts(printout):
    """Each notebook's claim table (check_demo in tests/fixtures/<topic>.py) on what its solution printed offline in
    quick and in full mode (tests/fixtures/printed/<id>_<mode>.txt, recorded from benchmarks/notebook_claims.py runs;
    refresh them when a notebook's printed lines change). The suite executes quick mode itself (test_notebooks)."""
    from fixtures import examples_for

    assignment_id, mode = printout.stem.rsplit("_", 1)
    assert mode in ("quick", "full")
    examples_for(assignment_id).check_demo(printout.read_text())
