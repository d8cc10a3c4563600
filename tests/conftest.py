"""Shared fixtures. Every test runs with the network blocked: hwlib must never need it in tests."""
from __future__ import annotations

import os
import socket

import pytest

# One CPU thread per process, for this process and every process the suite starts (nbgrader's kernels, servers,
# subprocesses; the sandbox and the reference process already use one): `make test` runs three workers on two
# cores, and thread pools that busy-wait for a descheduled partner burn the CPU the other workers need. Measured
# (notebook 04's hidden-cell checks of 8 examples, beside two busy processes on two cores): 15 s CPU on one thread,
# 146 s on two. Set before anything imports torch or numpy (their pools read these once); a test that is about
# threads sets its own count. An explicit setting in the environment wins.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to open an internet connection (unix sockets, used by Jupyter kernels, stay allowed)."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise NetworkBlocked(f"test tried to reach {address!r}")
        return real_connect(self, address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setenv("HWLIB_NO_NETWORK", "1")
    yield


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty hwlib download cache."""
    monkeypatch.setenv("HWLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module's tests, restored afterwards (two xdist workers share two cores; busy
    thread pools slow everyone). Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------ the suite's schedule
# `make test` runs `pytest -n 3` on two cores. The scheduler below hands out whole groups (a module, or one
# notebook's tests of the modules in PER_NOTEBOOK), so that module-scoped fixtures are built once, in the order of
# the collection, which puts the longest groups first and what waits for them last. Without it the five notebooks'
# nbgrader runs (40-85 s each) came last, in one module on one worker, and two workers sat idle for the final
# four minutes (12 min 45 s; with it: see the README). xdist's own `--dist loadgroup` cannot do this with pytest
# 9.2 (its group suffix is written to an attribute pytest no longer reads), hence a scheduler of our own.
#: Modules whose tests make one group per notebook (the notebook id among their parameters).
PER_NOTEBOOK = ("tests/autograder/test_grading_examples.py", "tests/test_notebooks.py",
                "tests/autograder/test_hidden_cells.py")
#: The longest groups, first: every notebook's shared example batch, its nbgrader runs, the Dask cluster.
FIRST = ("tests/autograder/test_grading_examples.py", "tests/test_notebooks.py", "tests/autograder/test_distributed.py")
#: Modules that wait for another worker's shared example batch: last, when the batches are done.
LAST = ("tests/autograder/test_hidden_cells.py", "tests/autograder/test_batch.py",
        "tests/autograder/test_feedback_pages.py")


def _notebooks() -> list[str]:
    from autograder.assignments import CHECK_MODULES

    return list(CHECK_MODULES)


def suite_group(nodeid: str) -> str:
    """The group a test runs in: its module, and in PER_NOTEBOOK modules the notebook named in its parameters."""
    module, _, rest = nodeid.partition("::")
    if module in PER_NOTEBOOK and "[" in rest:
        named = [n for n in _notebooks() if n in rest[rest.index("["):]]
        if named:
            return f"{module}[{named[0]}]"
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Longest groups first (FIRST), waiting groups last (LAST), one notebook's tests together."""
    notebooks = _notebooks()

    def place(item) -> tuple[int, int]:
        module = item.nodeid.split("::")[0]
        rank = FIRST.index(module) if module in FIRST else \
            len(FIRST) + 1 + LAST.index(module) if module in LAST else len(FIRST)
        group = suite_group(item.nodeid)
        notebook = group[len(module) + 1:-1] if group != module else None
        return rank, notebooks.index(notebook) if notebook else len(notebooks)

    items.sort(key=place)   # stable: the collection's order within a group


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With `-n N` (xdist's default `--dist load`): groups (:func:`suite_group`) in the collection's order."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SuiteScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return suite_group(nodeid)

    config.option.loadscopereorder = False   # the collection's order, not the largest group first
    return SuiteScheduling(config, log)
