"""The online path, exercised without the internet: stand-ins of the online assets served from 127.0.0.1, every
download URL redirected there by one setting ($HWLIB_MIRROR). Downloaded once with a progress bar, cached
atomically; a truncated or corrupt file is a clear error and never poisons the cache; `auto` then uses the cache."""
from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

import hwlib
from hwlib import sources


class AssetServer:
    """Serves ``files[name]`` at ``/name``; ``truncate`` names files sent with a too-large Content-Length."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bool):
                name = self.path.lstrip("/")
                server.requests.append(f"{self.command} {name}")
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data) + (1000 if name in server.truncate else 0)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self):
                self._send(True)

            def do_HEAD(self):
                self._send(False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def gets(self, name: str) -> int:
        return self.requests.count(f"GET {name}")


def squeezenet_weights() -> bytes:
    import torchvision

    buffer = io.BytesIO()
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), buffer)
    return buffer.getvalue()


def imagenet_samples() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, X=rng.integers(0, 256, (25, 64, 64, 3), dtype=np.uint8), y=rng.integers(0, 1000, 25))
    return buffer.getvalue()


WEIGHTS, SAMPLES = (name for _, name in hwlib.NETWORK_VISUALIZATION_ASSETS)


@pytest.fixture
def server(monkeypatch, empty_cache):
    served = AssetServer()
    served.files = {WEIGHTS: squeezenet_weights(), SAMPLES: imagenet_samples()}
    monkeypatch.setenv("HWLIB_MIRROR", served.url)
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    yield served
    served.close()


def test_online_assets_download_once_with_a_progress_bar_then_come_from_the_cache(server, empty_cache, capsys,
                                                                                   monkeypatch):
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "online"
    model, names, source = hwlib.load_squeezenet("online", device="cpu")
    samples = hwlib.load_sample_images(5, source="online")
    assert source == "online" and len(names) == 1000 and samples.images.shape == (5, 64, 64, 3)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)
    assert "SqueezeNet 1.1 weights" in capsys.readouterr().err, "a progress bar names what is downloading"
    hwlib.load_squeezenet("online", device="cpu")
    hwlib.load_sample_images(source="online")
    assert server.gets(WEIGHTS) == server.gets(SAMPLES) == 1, server.requests
    assert sorted(p.name for p in empty_cache.iterdir()) == sorted([WEIGHTS, SAMPLES]), "no partial files left"
    monkeypatch.setenv("HWLIB_NO_NETWORK", "1")
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "online"
    assert hwlib.load_squeezenet("auto", device="cpu").source == "online"


def test_a_truncated_download_is_a_clear_error_and_caches_nothing(server, empty_cache):
    server.truncate.add(WEIGHTS)
    with pytest.raises(hwlib.OfflineError, match="truncated"):
        hwlib.load_squeezenet("online", device="cpu")
    assert not empty_cache.exists() or not list(empty_cache.iterdir())
    server.truncate.clear()
    assert hwlib.load_squeezenet("online", device="cpu").source == "online"


def test_a_corrupt_file_is_removed_from_the_cache_with_a_clear_error(server, empty_cache):
    server.files[WEIGHTS] = b"<html>this is not a checkpoint</html>" * 100
    with pytest.raises(hwlib.OfflineError, match="corrupt and was removed"):
        hwlib.load_squeezenet("online", device="cpu")
    assert not (empty_cache / WEIGHTS).exists()
    server.files[WEIGHTS] = squeezenet_weights()
    assert hwlib.load_squeezenet("online", device="cpu").source == "online"


def test_a_checksum_mismatch_never_enters_the_cache(server, empty_cache):
    with pytest.raises(hwlib.OfflineError, match="corrupt"):
        sources.fetch("http://unused.invalid/x", SAMPLES, sha256="0" * 64)
    assert not (empty_cache / SAMPLES).exists()


def test_auto_with_an_unreachable_mirror_says_so_and_goes_offline(monkeypatch, empty_cache, capsys):
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv("HWLIB_MIRROR", "http://127.0.0.1:9")   # nothing listens on the discard port
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "offline"
    assert "using offline mode" in capsys.readouterr().out
