"""A classifier that takes pixels in [0, 1], so that attacks can work in pixel space.

Adversarial examples are defined in pixel space: "change no pixel by more than 8/255" and "stay a valid image
(every value in [0, 1])". Pretrained ImageNet networks, however, expect *normalized* input ``(x - mean) / std``.
:class:`NormalizedClassifier` puts the normalization inside the model, so every attack sees plain pixels.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validation import check_image_batch, describe
from ..device import get_device, model_device
from .. import assets
from ..sources import resolve_with_fallback
from .squeezenet import LoadedModel, freeze

#: Values this far outside [0, 1] still count as inside (float rounding of ``x + delta``).
RANGE_SLACK = 1e-6


#: ``(url, cache filename)`` of everything notebook 03 downloads in online mode (GoogLeNet's weights and CS231n's 25
#: labelled ImageNet images), for :func:`hwlib.setup_notebook` / :func:`hwlib.resolve_source`.
ADVERSARIAL_EXAMPLES_ASSETS = assets.ADVERSARIAL_EXAMPLES_ASSETS


def _channel_vector(values, name: str) -> torch.Tensor:
    """``values`` (sequence, array or tensor of C finite floats) as a float32 CPU tensor of shape (C,)."""
    try:
        t = torch.as_tensor(np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values,
                                       dtype=np.float64), dtype=torch.float32).flatten()
    except (TypeError, ValueError):
        raise TypeError(f"NormalizedClassifier: {name} must be a sequence of one float per channel, got "
                        f"{describe(values)}.") from None
    if t.numel() == 0 or not torch.isfinite(t).all():
        raise ValueError(f"NormalizedClassifier: {name} must hold one finite float per channel, got {values!r}.")
    return t


class NormalizedClassifier(torch.nn.Module):
    """``model((x - mean) / std)``: a frozen classifier whose input is pixels in [0, 1].

    Args:
        model: a classifier expecting normalized ``(N, C, H, W)`` input. It is frozen (eval mode, every
            parameter's ``requires_grad`` off) and kept as ``self.model``.
        mean, std: C floats each (e.g. ``hwlib.SQUEEZENET_MEAN``), stored as buffers on the model's device.
        check_range: raise ``ValueError`` for input outside [0, 1] (default). The autograder turns it off so that
            a missing clamp costs only the check that tests the pixel range.

    Input ``(N, C, H, W)`` float in [0, 1] on the model's device -> ``(N, num_classes)`` logits.

    Example:
        >>> pixel_model = NormalizedClassifier(squeezenet, hwlib.SQUEEZENET_MEAN, hwlib.SQUEEZENET_STD)
        >>> logits = pixel_model(torch.rand(2, 3, 128, 128))
    """

    def __init__(self, model: torch.nn.Module, mean, std, check_range: bool = True):
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"NormalizedClassifier: model must be a torch.nn.Module, got {describe(model)}.")
        mean, std = _channel_vector(mean, "mean"), _channel_vector(std, "std")
        if mean.shape != std.shape:
            raise ValueError(f"NormalizedClassifier: mean and std need one value per channel each, got "
                             f"{mean.numel()} and {std.numel()} values.")
        if (std <= 0).any():
            raise ValueError(f"NormalizedClassifier: std must be positive, got {std.tolist()}.")
        self.model = freeze(model)
        device = model_device(model)
        self.register_buffer("mean", mean.view(1, -1, 1, 1).to(device))
        self.register_buffer("std", std.view(1, -1, 1, 1).to(device))
        self.check_range = bool(check_range)
        self.eval()

    @property
    def channels(self) -> int:
        return int(self.mean.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, "NormalizedClassifier input (pixels in [0, 1])", channels=self.channels)
        if self.check_range and x.numel():
            low, high = torch.aminmax(x.detach())
            low, high = float(low), float(high)
            if not (low >= -RANGE_SLACK and high <= 1 + RANGE_SLACK):  # also catches NaN
                raise ValueError(f"NormalizedClassifier: expected pixel values in [0, 1], got values from {low:.4g} "
                                 f"to {high:.4g}. Keep adversarial images valid with x.clamp(0, 1) after every "
                                 "step.")
        mean, std = self.mean.to(dtype=x.dtype), self.std.to(dtype=x.dtype)
        return self.model((x - mean) / std)

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}, check_range={self.check_range}"


def _online_classifier():
    from .googlenet import IMAGENET_MEAN, IMAGENET_STD, load_googlenet

    loaded = load_googlenet(device="cpu")
    return NormalizedClassifier(loaded.model, IMAGENET_MEAN, IMAGENET_STD), loaded.class_names


def _offline_classifier():
    from ..image import SQUEEZENET_MEAN, SQUEEZENET_STD
    from .squeezenet import load_squeezenet

    loaded = load_squeezenet("offline", device="cpu")
    return NormalizedClassifier(loaded.model, SQUEEZENET_MEAN, SQUEEZENET_STD), loaded.class_names


def load_pixel_classifier(source: str | None = None, device: str | torch.device | None = None) -> LoadedModel:
    """The classifier notebook 03 attacks, taking pixels in [0, 1] (a :class:`NormalizedClassifier`).

    online:  GoogLeNet with ImageNet weights (the seed article's network), 1000 classes, 224 x 224 photos.
    offline: the offline SqueezeNet 1.1 of notebook 02 (hwlib's synthetic shapes, 10 classes, 128 x 128).

    Args:
        source: ``"online"``, ``"offline"``, ``"auto"`` or ``None`` (= ``$HWLIB_SOURCE`` or ``"auto"``).
        device: where to put it (default: :func:`hwlib.get_device` ``("auto")``).

    Returns:
        ``LoadedModel(model, class_names, source)``; the model maps ``(N, 3, H, W)`` pixels in [0, 1] to
        ``(N, len(class_names))`` logits.
    """
    (model, names), resolved = resolve_with_fallback(source, _online_classifier, _offline_classifier, "model")
    return LoadedModel(model.to(get_device("auto" if device is None else device)), names, resolved)
