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
