"""The classifier notebook 04 explains: ML2021 HW9's food CNN, with HW9's layer indices.

``cnn`` is five stages of (Conv3x3 -> BatchNorm -> ReLU) x n, each followed by MaxPool2d(2): (3->128, n=3),
(128->128, 3), (128->256, 3), (256->512, 1), (512->512, 1), 38 modules, so ``cnn[6]`` is the third conv of stage 1
and ``cnn[23]`` the second conv of stage 3 (both before their BatchNorm); ``fc`` is Linear(8192, 1024) -> ReLU ->
Dropout(0.3) -> Linear(1024, 11). Input: ``(N, 3, 128, 128)`` in [0, 1], no normalisation. ``width`` scales every
channel count (and the hidden layer) and keeps every index: the offline model is ``width=1/16``.

The ReLUs are in place (as in torchvision's VGG): a forward hook that keeps a BatchNorm's ``output`` without
cloning it sees it overwritten by the ReLU that follows.

online:  the instructor's checkpoint (``$HWLIB_FOOD_CHECKPOINT``: a path or a URL, downloaded once into the hwlib
         cache and loaded before it enters it), HW9's dict with ``model_state_dict`` (and ``optimizer_state_dict``,
         ignored) or a bare state_dict, saved on a GPU or not; its width is read from its weights.
offline: ``data/food_classifier_synthetic.pt``, trained on the synthetic Food-11 by
         ``python -m hwlib_training.food`` (provenance in ``data/food_classifier_synthetic.json``).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from .._paths import data_dir
from ..datasets.food import FOOD11_CLASSES
from ..device import get_device
from ..sources import OfflineError, fetch, load_cached, network_allowed, resolve_with_fallback
from .squeezenet import LoadedModel, freeze

STAGES = ((3, 128, 3), (128, 128, 3), (128, 256, 3), (256, 512, 1), (512, 512, 1))
OFFLINE_WIDTH = 1 / 16
OFFLINE_WEIGHTS = "food_classifier_synthetic.pt"
OFFLINE_PROVENANCE = "food_classifier_synthetic.json"


class FoodClassifier(nn.Module):
    """HW9's food classifier (see the module docstring); ``width`` < 1 makes a narrow copy with the same indices.

    Example:
        >>> model = FoodClassifier(width=1 / 16)
        >>> model(torch.rand(2, 3, 128, 128)).shape
        torch.Size([2, 11])
        >>> type(model.cnn[6]).__name__, type(model.cnn[23]).__name__, len(model.cnn)
        ('Conv2d', 'Conv2d', 38)
    """

    def __init__(self, num_classes: int = len(FOOD11_CLASSES), width: float = 1.0, dropout: float = 0.3):
        super().__init__()
        if not isinstance(width, (int, float)) or not 0 < width <= 4:
            raise ValueError(f"width: expected a number in (0, 4], got {width!r}.")
        scale = lambda c: c if c == 3 else max(1, round(c * width))  # noqa: E731
        layers: list[nn.Module] = []
        for cin, cout, n in STAGES:
            for i in range(n):
                layers += [nn.Conv2d(scale(cin if i == 0 else cout), scale(cout), 3, 1, 1),
                           nn.BatchNorm2d(scale(cout)), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2, 2, 0))
        self.cnn = nn.Sequential(*layers)
        hidden = max(1, round(1024 * width))
        self.fc = nn.Sequential(nn.Linear(scale(512) * 4 * 4, hidden), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(hidden, num_classes))
        self.width = float(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``(N, 3, 128, 128)`` float in [0, 1] -> ``(N, num_classes)`` logits."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[2:] != (128, 128):
            raise ValueError(f"FoodClassifier: expected a batch (N, 3, 128, 128), got {tuple(x.shape)}; "
                             "add the batch axis with x.unsqueeze(0) or resize the images to 128 x 128.")
        out = self.cnn(x)
        return self.fc(out.reshape(out.shape[0], -1))


def state_dict_from_checkpoint(checkpoint) -> dict[str, torch.Tensor]:
    """The model's state_dict from HW9's checkpoint (``{"model_state_dict": ...}``) or a bare state_dict, float32,
    without DataParallel's ``module.`` prefixes."""
    state = checkpoint.get("model_state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("checkpoint: expected a dict with 'model_state_dict' (HW9's format) or a state_dict.")
    return {k.removeprefix("module."): v.float() if v.is_floating_point() else v for k, v in state.items()}


def checkpoint_width(state: dict[str, torch.Tensor]) -> float:
    """The ``width`` a state_dict was trained with: its first conv's channels over HW9's 128."""
    first = state.get("cnn.0.weight")
    if not isinstance(first, torch.Tensor) or first.dim() != 4:
        raise ValueError("checkpoint: no 'cnn.0.weight' (N, 3, 3, 3) conv weight: not HW9's food classifier.")
    return first.shape[0] / STAGES[0][1]


def load_checkpoint(path: str | Path, width: float | None = None) -> FoodClassifier:
    """A FoodClassifier from a checkpoint file (CUDA-saved tensors load on the CPU); ``width`` from the file when
    it records one, else from the shape of its weights (1 for HW9's own)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = state_dict_from_checkpoint(checkpoint)
    if width is None:
        recorded = checkpoint.get("width") if isinstance(checkpoint, dict) else None
        width = float(recorded) if isinstance(recorded, (int, float)) else checkpoint_width(state)
    model = FoodClassifier(width=width)
    model.load_state_dict(state)
    return model


def checkpoint_setting() -> str:
    """``$HWLIB_FOOD_CHECKPOINT``: where the instructor's HW9 checkpoint is (a path or a URL; empty if unset)."""
    return os.environ.get("HWLIB_FOOD_CHECKPOINT", "").strip()


def checkpoint_cache_name(url: str) -> str:
    """The cache file name of the checkpoint downloaded from ``url``."""
    return "food_classifier_" + hashlib.sha256(url.encode()).hexdigest()[:10] + ".pth"


def _online(checkpoint: str | None = None) -> tuple[nn.Module, tuple[str, ...]]:
    where = checkpoint or checkpoint_setting()
    if not where:
        raise OfflineError("no food classifier checkpoint configured (set $HWLIB_FOOD_CHECKPOINT to a path or URL "
                           "of HW9's checkpoint).")
    if "://" in where:
        path = fetch(where, checkpoint_cache_name(where), desc="food classifier checkpoint", verify=load_checkpoint,
                     mirror=False)
        return load_cached(path, load_checkpoint, "food classifier checkpoint"), FOOD11_CLASSES
    path = Path(where).expanduser()
    if not path.is_file():
        raise OfflineError(f"food classifier checkpoint {path} does not exist.")
    try:
        return load_checkpoint(path), FOOD11_CLASSES
    except Exception as err:  # the instructor's own file: never deleted, but auto falls back
        raise OfflineError(f"food classifier checkpoint {path} does not load ({type(err).__name__}: "
                           f"{str(err)[:200]}).") from err


def offline_provenance() -> dict:
    """The JSON record written by ``python -m hwlib_training.food``."""
    path = data_dir() / OFFLINE_PROVENANCE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `python -m hwlib_training.food`.")
    return json.loads(path.read_text())


def _offline() -> tuple[nn.Module, tuple[str, ...]]:
    path = data_dir() / OFFLINE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"offline weights not found at {path}; they ship with hwlib — reinstall it, or "
                                "recreate them with `python -m hwlib_training.food`.")
    return load_checkpoint(path), FOOD11_CLASSES


def resolve_food_source(source: str | None = None) -> str:
    """``"online"`` or ``"offline"`` for the whole notebook: ``"auto"`` is online only when a checkpoint and a
    Food-11 folder are configured and reachable (cached, local, or downloadable: a URL must answer); prints one
    line saying why otherwise."""
    from ..datasets.food import food11_cache_name, food11_setting
    from ..sources import cache_dir, check_source, unreachable

    source = check_source(source)
    if source != "auto":
        return source
    checkpoint, food = checkpoint_setting(), food11_setting()
    if not checkpoint or not food:
        print("hwlib: no food classifier checkpoint / Food-11 folder configured ($HWLIB_FOOD_CHECKPOINT, "
              "$HWLIB_FOOD11): using offline mode.")
        return "offline"
    local_missing = [w for w in (checkpoint, food) if "://" not in w and not Path(w).expanduser().exists()]
    if local_missing:
        print(f"hwlib: {local_missing[0]} does not exist: using offline mode.")
        return "offline"
    cached = {checkpoint: (cache_dir() / checkpoint_cache_name(checkpoint)).is_file(),
              food: (cache_dir() / food11_cache_name(food)).is_dir()}
    remote = [w for w in (checkpoint, food) if "://" in w and not cached[w]]
    if remote and not network_allowed():
        print("hwlib: downloads disabled (HWLIB_NO_NETWORK): using offline mode.")
        return "offline"
    for url in remote:
        reason = unreachable(url)
        if reason is not None:
            print(f"hwlib: cannot reach {url} ({reason}): using offline mode.")
            return "offline"
    return "online"


def load_food_classifier(source: str | None = None, device: str | torch.device | None = None,
                         checkpoint: str | None = None) -> LoadedModel:
    """HW9's food classifier, frozen (eval mode, no parameter gradients), with Food-11's class names.

    Args:
        source: ``"online"``, ``"offline"``, ``"auto"`` or ``None`` (= ``$HWLIB_SOURCE`` or ``"auto"``).
        device: where to put it (default: :func:`hwlib.get_device` ``("auto")``).
        checkpoint: online only: a path or URL overriding ``$HWLIB_FOOD_CHECKPOINT``.

    Returns:
        ``LoadedModel(model, class_names, source)``; the model maps ``(N, 3, 128, 128)`` images in [0, 1] to
        ``(N, 11)`` logits.
    """
    (model, names), resolved = resolve_with_fallback(source, lambda: _online(checkpoint), _offline, "food classifier")
    return LoadedModel(freeze(model).to(get_device("auto" if device is None else device)), names, resolved)
