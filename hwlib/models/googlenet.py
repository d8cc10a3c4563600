"""The network of the seed article (Evans, "How to trick a neural network into thinking a panda is a vulture"):
GoogLeNet (Inception v1, Szegedy et al. 2015, https://arxiv.org/abs/1409.4842) with torchvision's ImageNet weights.

Online only: there is no offline GoogLeNet. Notebook 03 uses the offline SqueezeNet instead when nothing can be
downloaded (see :func:`hwlib.load_pixel_classifier`).

The model expects ImageNet-normalized input (``IMAGENET_MEAN``/``IMAGENET_STD``); wrap it in
:class:`hwlib.NormalizedClassifier` to feed it pixels in [0, 1].
"""
from __future__ import annotations

import torch

from .. import assets
from ..device import get_device
from ..sources import fetch, load_cached
from .squeezenet import LoadedModel, freeze

# torchvision's ImageNet weights (URL, cache name, sha256 prefix): the entry in hwlib.assets.
GOOGLENET_URL, GOOGLENET_FILE = assets.GOOGLENET_WEIGHTS.pair
GOOGLENET_SHA256_PREFIX = assets.GOOGLENET_WEIGHTS.sha256
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_googlenet(state_dict: dict | None = None) -> torch.nn.Module:
    """torchvision's GoogLeNet as its ImageNet weights expect it: ``transform_input=True`` (the ported weights were
    trained on ``(x - 0.5) / 0.5`` input; the model converts ImageNet-normalized input to that itself), auxiliary
    classifiers present while loading ``state_dict`` and dropped afterwards (they are not trained)."""
    import torchvision

    model = torchvision.models.GoogLeNet(num_classes=1000, aux_logits=True, transform_input=True, init_weights=False)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model


def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names in torchvision's order (index = class)."""
    import torchvision

    return tuple(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["categories"])


def load_googlenet(device: str | torch.device | None = None) -> LoadedModel:
    """GoogLeNet with ImageNet weights (downloaded once into the hwlib cache, ~50 MB), frozen, with class names.

    Args:
        device: where to put it (default: :func:`hwlib.get_device` ``("auto")``).

    Returns:
        ``LoadedModel(model, class_names, "online")``; the model maps ImageNet-normalized ``(N, 3, 224, 224)``
        images to ``(N, 1000)`` logits.

    Raises:
        hwlib.OfflineError: the weights are not cached and cannot be downloaded.
    """
    read = lambda p: build_googlenet(torch.load(p, map_location="cpu", weights_only=True))  # noqa: E731
    path = fetch(GOOGLENET_URL, GOOGLENET_FILE, sha256=GOOGLENET_SHA256_PREFIX, desc="GoogLeNet weights",
                 verify=read)
    model = load_cached(path, read, "GoogLeNet weights")
    model = freeze(model).to(get_device("auto" if device is None else device))
    return LoadedModel(model, imagenet_class_names(), "online")
