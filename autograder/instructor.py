"""What only the instructor's checkout has: the test fixtures (example bodies, generated example submissions, the
attack library) in ``tests/fixtures/``.

The grader's runtime never imports them: only the instructor's commands do (``python -m autograder examples`` and
``demo``), through :func:`fixtures`, which fails with a clear message outside a checkout of the course repository.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from .assignments import repo_root


def fixtures():
    """The ``fixtures`` package of this checkout's ``tests/`` folder (imported with ``tests/`` on ``sys.path``)."""
    tests = repo_root() / "tests"
    if not (tests / "fixtures" / "__init__.py").is_file():
        raise SystemExit(f"no tests/fixtures/ in {repo_root()}: the example submissions and their generator are part "
                         "of the instructor's repository (a checkout, installed with pip install -e .[instructor]).")
    if str(tests) not in sys.path:
        sys.path.insert(0, str(tests))
    module = importlib.import_module("fixtures")
    if Path(module.__file__).resolve().parent != (tests / "fixtures").resolve():
        raise SystemExit(f"`import fixtures` found {module.__file__}, not {tests / 'fixtures'}: another installed "
                         "package is called `fixtures`; run from the course repository's root.")
    return module
