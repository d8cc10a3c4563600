"""The two commands and the environment files agree with each other."""
import re
import sys

import pytest
import yaml

from course import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_agrees_with_pyproject():
    """environment.yml lists exactly pyproject's dependencies and its instructor/test extras, same specifiers."""
    project = pyproject()["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["instructor"] + \
        project["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip_block if not p.startswith("-e")) == sorted(wanted)
    assert "-e ." in pip_block
    assert f"python{project['requires-python']}" in env["dependencies"]


def test_makefile_pins_torch_within_pyproject_range():
    """The Makefile's pinned torch satisfies pyproject's torch>=2.4, and `make test` is what CI runs."""
    make = (ROOT / "Makefile").read_text()
    pinned = re.search(r"torch==(\d+)\.(\d+)", make)
    assert pinned and (int(pinned.group(1)), int(pinned.group(2))) >= (2, 4)
    assert "torch>=2.4" in pyproject()["project"]["dependencies"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme


def test_packaged_data_is_importable():
    """The offline weights are found through the installed package (hwlib.data), not only via the checkout."""
    from importlib.resources import files

    assert (files("hwlib.data") / "squeezenet1_1_synthetic.pt").is_file()
