"""Online/offline resolution: clear errors, a loud fallback, and no network."""

import pytest
import torch

import hwlib
from hwlib import sources


def test_unknown_source_name_is_rejected():
    """An unknown source names the three valid ones."""
    with pytest.raises(ValueError, match="'auto', 'online', 'offline'"):
        sources.check_source("imagenet")
    with pytest.raises(ValueError, match="expected one of"):
        hwlib.load_squeezenet("cloud")


def test_default_source_reads_environment(monkeypatch):
    """source=None means $HWLIB_SOURCE, and a bad value there is reported too."""
    monkeypatch.setenv("HWLIB_SOURCE", "offline")
    assert sources.check_source(None) == "offline"
    monkeypatch.setenv("HWLIB_SOURCE", "nope")
    with pytest.raises(ValueError, match="nope"):
        sources.check_source(None)


def test_online_without_cache_or_network_is_a_clear_error(empty_cache):
    """Asking for online assets offline says they are not cached and how to proceed."""
    with pytest.raises(hwlib.OfflineError, match="not in the cache.*source='offline'"):
        hwlib.load_squeezenet("online")
    with pytest.raises(hwlib.OfflineError, match="imagenet_val_25.npz"):
        hwlib.load_sample_images(source="online")


def test_auto_falls_back_to_offline_and_says_so(empty_cache):
    """'auto' without cache or network returns the offline model with a warning that says so."""
    with pytest.warns(UserWarning, match="falling back to the offline model"):
        loaded = hwlib.load_squeezenet("auto", device="cpu")
    assert loaded.source == "offline"
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "offline"


def test_auto_uses_cached_online_assets(empty_cache):
    """'auto' resolves to online when every asset is already in the cache (no network needed)."""
    empty_cache.mkdir(parents=True)
    for _, name in hwlib.NETWORK_VISUALIZATION_ASSETS:
        (empty_cache / name).write_bytes(b"")
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "online"
    with pytest.raises(ValueError, match="assets"):
        hwlib.resolve_source("auto")


def test_fetch_refuses_network_when_disabled(empty_cache):
    """With HWLIB_NO_NETWORK set, fetch never opens a connection (the conftest would turn that into a failure)."""
    with pytest.raises(hwlib.OfflineError, match="HWLIB_NO_NETWORK"):
        sources.fetch("http://example.invalid/x.bin", "x.bin")
    assert not (empty_cache / "x.bin").exists()


def test_get_device(monkeypatch):
    """get_device: auto picks CPU without a GPU; an unavailable accelerator is a clear error."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert hwlib.get_device() == torch.device("cpu")
    assert hwlib.get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        hwlib.get_device("cuda")
    with pytest.raises(ValueError, match="expected 'auto'"):
        hwlib.get_device("tpu")
