"""The student course: what students (and their code) get, written from this instructor repository.

    python -m autograder release OUT [--wheel]      (make release: OUT = release/)

writes into ``OUT`` (absent or empty):

- ``notebooks/<id>/<notebook>.ipynb``: the generated student notebooks (``notebooks/``: nbgrader's release of
  ``solutions/``, with every solution region and hidden test removed);
- ``hwlib/`` and ``data/``: the student package and its shipped weights (installed as ``hwlib.data``);
- ``pyproject.toml``: a build of ``hwlib`` alone (the same core dependencies as this repository's);
- ``README.md``: how a student opens the notebooks on Colab, runs them locally and submits;
- with ``--wheel``, ``dist/hwlib-<version>-py3-none-any.whl`` (``pip wheel`` of the above): ``hwlib`` and
  ``hwlib.data`` only.

Nothing else: no solutions, no grader, no tests, no example submissions. ``course.cfg`` names where the course is
published (``release_repository``) and where every notebook's setup cell installs ``hwlib`` from (``pip_spec``).
The leak scanner (``tests/test_leaks.py``) builds the release and its wheel and fails on any answer found in them.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from .assignments import registered, release_notebook, repo_root
from .course import course_config

#: Files of the hwlib package that ship (sources and nothing cached).
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints")


def _packages(root: Path) -> list[str]:
    """Every package under ``root/hwlib`` (a folder with ``__init__.py``), dotted, sorted."""
    return sorted(".".join(p.parent.relative_to(root).parts) for p in (root / "hwlib").rglob("__init__.py")
                  if "__pycache__" not in p.parts)


def student_pyproject(root: Path | None = None) -> str:
    """``pyproject.toml`` of the student course: this repository's project, ``hwlib`` and ``hwlib.data`` only, no
    instructor or test extras."""
    root = root or repo_root()
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    packages = [*_packages(root), "hwlib.data"]
    deps = "".join(f'    "{d}",\n' for d in project["dependencies"])
    return f'''[build-system]
requires = ["setuptools>=69", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "hwlib"
version = "{project["version"]}"
description = "{project["description"]}"
readme = "README.md"
requires-python = "{project["requires-python"]}"
license = {{ text = "MIT" }}
dependencies = [
{deps}]

[tool.setuptools]
packages = {packages!r}

[tool.setuptools.package-dir]
"hwlib.data" = "data"

[tool.setuptools.package-data]
"hwlib.data" = ["*.pt", "*.json"]
'''.replace("'", '"')


def student_readme(config: dict[str, str]) -> str:
    """The student course's README: Colab links to every notebook, running locally, submitting."""
    repo = config.get("release_repository", "").strip() or "<course-org>/<course-repo>"
    branch = config.get("release_branch", "").strip() or "main"
    rows = []
    for assignment in registered():
        path = f"notebooks/{assignment.id}/{assignment.notebook}"
        rows.append(f"| {assignment.id} | [{assignment.notebook}]({path}) | "
                    f"[open in Colab](https://colab.research.google.com/github/{repo}/blob/{branch}/{path}) |")
    table = "\n".join(rows)
    return f"""# Inside the black box — the course notebooks

Look inside neural networks and fool them: saliency maps, gradient ascent, adversarial examples, SmoothGrad,
integrated gradients, LIME and BERT embeddings. Each notebook asks you to write a few functions and shows what they
reveal.

| assignment | notebook | Colab |
|---|---|---|
{table}

## On Colab
Open a notebook with its link above (or File → Open notebook → GitHub → `{repo}`). Optionally choose
*Runtime → Change runtime type → GPU*, then run the cells from the top: the first cells install the course package
`hwlib` (about a minute, once per session) and download the real models and data (online mode). Save a copy to
your Drive before you start writing (File → Save a copy in Drive).

## On your own machine
```bash
python -m venv .venv && . .venv/bin/activate
pip install .                  # hwlib and its shipped weights (Python 3.10-3.13, PyTorch >= 2.4)
pip install jupyterlab
jupyter lab notebooks/
```
Without internet, set `SOURCE = "offline"` in a notebook's first cell (or `HWLIB_SOURCE=offline`): everything then
runs on data and small models that ship with `hwlib`.

## Writing and submitting
Write code only in the `YOUR CODE HERE` regions and keep the function names and signatures. Run the visible checks
under each function: they catch common mistakes early (they are not the grade). Submit the `.ipynb` file as your
instructor says (an upload, or a push to your assignment repository); the grader runs only your functions, on its
own inputs, so the notebook's outputs need not be saved.
"""


def write_release(out: Path, wheel: bool = False, root: Path | None = None) -> Path:
    """Write the student course into ``out`` (absent or empty); with ``wheel``, build its wheel into
    ``out/dist/``. Returns ``out``."""
    root = (root or repo_root()).resolve()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"release: {out} is not empty; give a new folder.")
    if out == root or out in root.parents or any(out == root / n or (root / n) in out.parents
                                                  for n in ("hwlib", "notebooks", "data", "solutions", "autograder")):
        raise SystemExit(f"release: {out} would overwrite the repository's own files.")
    out.mkdir(parents=True, exist_ok=True)
    for assignment in registered():
        source = release_notebook(assignment)
        if not source.is_file():
            raise SystemExit(f"release: {source} is missing; run `make notebooks` first.")
        target = out / "notebooks" / assignment.id / assignment.notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    shutil.copytree(root / "hwlib", out / "hwlib", ignore=_SKIP)
    (out / "data").mkdir()
    for pattern in ("*.pt", "*.json"):
        for path in sorted((root / "data").glob(pattern)):
            shutil.copyfile(path, out / "data" / path.name)
    (out / "pyproject.toml").write_text(student_pyproject(root), encoding="utf-8")
    (out / "README.md").write_text(student_readme(course_config(root / "course.cfg")), encoding="utf-8")
    (out / ".gitignore").write_text("__pycache__/\n*.pyc\n.ipynb_checkpoints/\nbuild/\ndist/\n*.egg-info/\n")
    if wheel:
        build_wheel(out)
    print(f"wrote the student course to {out}" + (f" (wheel in {out / 'dist'})" if wheel else ""))
    return out


def build_wheel(release: Path) -> Path:
    """``pip wheel`` of the student course at ``release`` into ``release/dist/``; the wheel's path."""
    dist = release / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(dist), str(release)], capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(f"release: building the wheel failed:\n{build.stdout}{build.stderr}")
    shutil.rmtree(release / "build", ignore_errors=True)
    for egg in release.glob("*.egg-info"):
        shutil.rmtree(egg, ignore_errors=True)
    wheels = sorted(dist.glob("hwlib-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"release: expected one hwlib wheel in {dist}, found {[w.name for w in wheels]}")
    return wheels[0]
