"""The classifier notebook 02 looks inside: SqueezeNet 1.1.

online:  torchvision's ImageNet weights (1000 classes), downloaded once into the hwlib cache.
offline: the same architecture trained on hwlib's synthetic shapes (``python -m hwlib_training.squeezenet``), shipped
         in ``data/squeezenet1_1_synthetic.pt`` with its provenance next to it.

Either way the model comes back in eval mode with every parameter's ``requires_grad`` off (we differentiate with
respect to images, never weights), on the requested device, together with its class names.
"""
from __future__ import annotations

import json
from typing import NamedTuple

import torch

from .. import assets
from .._paths import data_dir
from ..device import get_device
from ..sources import fetch, load_cached, resolve_with_fallback
from .squeezenet_arch import squeezenet1_1

OFFLINE_WEIGHTS = "squeezenet1_1_synthetic.pt"
OFFLINE_PROVENANCE = "squeezenet1_1_synthetic.json"
# torchvision's ImageNet weights (URL, cache name, sha256 prefix): the entry in hwlib.assets.
ONLINE_WEIGHTS_URL, ONLINE_WEIGHTS_FILE = assets.SQUEEZENET_WEIGHTS.pair
ONLINE_WEIGHTS_SHA256_PREFIX = assets.SQUEEZENET_WEIGHTS.sha256


class LoadedModel(NamedTuple):
    """``model, class_names = load_squeezenet(...)`` unpacks it; ``.source`` says which one you got."""
    model: torch.nn.Module
    class_names: tuple[str, ...]
    source: str


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    """Put ``model`` in eval mode with all parameter gradients off; returns the same module."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _online_squeezenet() -> tuple[torch.nn.Module, tuple[str, ...]]:
    import torchvision

    weights = torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1   # the 1000 class names only
    model = squeezenet1_1()

    def read(p):
        model.load_state_dict(torch.load(p, map_location="cpu", weights_only=True))

    path = fetch(ONLINE_WEIGHTS_URL, ONLINE_WEIGHTS_FILE, sha256=ONLINE_WEIGHTS_SHA256_PREFIX,
                 desc="SqueezeNet 1.1 weights", verify=read)
    load_cached(path, read, "SqueezeNet weights")
    return model, tuple(weights.meta["categories"])


def offline_provenance() -> dict:
    """The JSON record written by ``python -m hwlib_training.squeezenet`` (command, seed, accuracy, class names...)."""
    path = data_dir() / OFFLINE_PROVENANCE
    if not path.is_file():
        raise FileNotFoundError(f"offline model provenance not found at {path}; run `python -m hwlib_training.squeezenet`.")
    return json.loads(path.read_text())


def _offline_squeezenet() -> tuple[torch.nn.Module, tuple[str, ...]]:
    from ..datasets.shapes import CLASS_NAMES

    path = data_dir() / OFFLINE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"offline weights not found at {path}; they ship with hwlib — reinstall it, or "
                                "recreate them with `python -m hwlib_training.squeezenet`.")
    model = squeezenet1_1(num_classes=len(CLASS_NAMES))
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model, tuple(CLASS_NAMES)


def load_squeezenet(source: str | None = None, device: str | torch.device | None = None) -> LoadedModel:
    """SqueezeNet 1.1, frozen, with class names.

    Args:
        source: ``"online"``, ``"offline"``, ``"auto"`` or ``None`` (= ``$HWLIB_SOURCE`` or ``"auto"``).
        device: where to put it (default: :func:`hwlib.get_device` ``("auto")``).

    Returns:
        ``LoadedModel(model, class_names, source)``; the model maps ``(N, 3, H, W)`` normalized images to
        ``(N, len(class_names))`` scores.

    Example:
        >>> model, class_names = load_squeezenet("offline")[:2]
    """
    (model, names), resolved = resolve_with_fallback(source, _online_squeezenet, _offline_squeezenet, "model")
    model = freeze(model).to(get_device("auto" if device is None else device))
    return LoadedModel(model, names, resolved)
