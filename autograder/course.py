"""The course-wide cells every notebook starts with, written from ``course.cfg`` (the one file instructors edit).

    python -m autograder.course sync          # rewrite the first cells of every solution notebook
    python -m autograder.course sync --check  # exit 1 when a notebook is out of date

Every solution notebook has a locked ``parameters`` cell (exactly :data:`PARAMETERS`, with the course's pip spec)
and a locked ``setup`` cell that starts with :data:`INSTALL` (install hwlib on Colab when it is missing) and then
calls :func:`hwlib.setup_notebook` with the notebook's own arguments. ``make notebooks`` runs ``sync`` before
nbgrader generates the student release, so every released notebook installs from the same place.
"""
from __future__ import annotations

import argparse
import configparser
import sys
from pathlib import Path

from .assignments import registered, repo_root, solution_notebook

PARAMETERS = '''\
# Parameters. Automated runs set HWLIB_SOURCE=offline and HWLIB_QUICK=1 (smaller sizes, same code path).
import os

SOURCE = os.environ.get("HWLIB_SOURCE", "auto")  # "auto" (online if possible), "online" or "offline"
QUICK = os.environ.get("HWLIB_QUICK", "0") == "1"
# Where Colab installs the course package from (set once for the whole course in course.cfg).
HWLIB_PIP_SPEC = os.environ.get("HWLIB_PIP_SPEC", {pip_spec!r})'''

INSTALL = '''\
try:
    import hwlib
except ImportError:  # first run on Colab: install the course package (about a minute)
    %pip install --quiet "$HWLIB_PIP_SPEC"
    import hwlib
'''


def course_config(path: Path | None = None) -> dict[str, str]:
    """The ``[course]`` section of ``course.cfg`` (raises ``ValueError`` naming what is missing)."""
    path = path or repo_root() / "course.cfg"
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path, encoding="utf-8") or not parser.has_section("course"):
        raise ValueError(f"{path}: expected a [course] section with pip_spec = <pip requirement>.")
    config = dict(parser["course"])
    if not config.get("pip_spec", "").strip():
        raise ValueError(f"{path}: [course] pip_spec is empty; set it to where students install hwlib from.")
    return config


def parameters_cell(config: dict[str, str]) -> str:
    return PARAMETERS.format(pip_spec=config["pip_spec"].strip())


def _cell(nb: dict, grade_id: str) -> dict:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise ValueError(f"no cell with grade_id {grade_id!r}")


def synced(nb, config: dict[str, str]):
    """A copy of notebook ``nb`` (an nbformat node) whose ``parameters`` and ``setup`` cells follow the course's
    templates."""
    import copy

    nb = copy.deepcopy(nb)
    _cell(nb, "parameters")["source"] = parameters_cell(config)
    setup = _cell(nb, "setup")
    source = setup["source"]
    marker = "    import hwlib\n"
    end = source.find(marker, source.find("%pip install"))
    rest = source[end + len(marker):] if end >= 0 else source
    if "setup_notebook(" not in rest:
        raise ValueError("the setup cell must call hwlib.setup_notebook(...) after the install lines")
    setup["source"] = INSTALL + rest
    return nb


def sync(check: bool = False) -> list[Path]:
    """Bring every registered solution notebook's first cells in line with ``course.cfg``; the stale ones."""
    import nbformat

    config, stale = course_config(), []
    for assignment in registered():
        path = solution_notebook(assignment)
        nb = nbformat.read(path, as_version=4)
        new = synced(nb, config)
        if new != nb:
            stale.append(path)
            if not check:
                nbformat.write(new, path)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.course", description=__doc__.splitlines()[0])
    parser.add_argument("verb", choices=("sync",))
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args(argv)
    stale = sync(args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(repo_root())}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
