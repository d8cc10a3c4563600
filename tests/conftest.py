"""Shared fixtures. Every test runs with the network blocked: hwlib must never need it in tests."""
from __future__ import annotations

import socket

import pytest


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
