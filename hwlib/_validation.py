"""Input validation shared by every hwlib function.

Every public function that takes an image batch calls one of these first, so a student who passes a
channels-last array, a uint8 tensor or a single image without its batch axis gets a message that says what was
expected and what was given, instead of a silent wrong answer deep inside a convolution.
"""
from __future__ import annotations

import torch


def describe(x) -> str:
    """A short human description of ``x``: type, shape and dtype."""
    if isinstance(x, torch.Tensor):
        return f"torch.Tensor of shape {tuple(x.shape)} and dtype {x.dtype} on {x.device}"
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is not None:
        return f"{type(x).__name__} of shape {tuple(shape)} and dtype {dtype}"
    return f"{type(x).__name__}"


def check_image_batch(x, name: str = "X", channels: int = 3) -> torch.Tensor:
    """Check that ``x`` is a float image batch of shape (N, C, H, W) and return it unchanged.

    Raises ``TypeError`` for non-tensors and integer dtypes, ``ValueError`` for a wrong rank, channels-last
    layout or a wrong channel count.
    """
    expected = f"a float torch.Tensor of shape (N, {channels}, H, W)"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected {expected}, got {describe(x)}. "
                        "Use hwlib.preprocess to turn an image array into a tensor batch.")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name}: expected {expected}, got dtype {x.dtype}. Convert uint8 images with "
                        "hwlib.preprocess (it scales to [0, 1] and normalizes) rather than passing raw pixels.")
    if x.dim() == 3 and x.shape[0] == channels:
        raise ValueError(f"{name}: expected {expected}, got a single image of shape {tuple(x.shape)}; "
                         "add the batch axis with X.unsqueeze(0).")
    if x.dim() != 4:
        raise ValueError(f"{name}: expected {expected}, got rank {x.dim()} with shape {tuple(x.shape)}.")
    if x.shape[1] != channels:
        if x.shape[-1] == channels:
            raise ValueError(f"{name}: expected {expected} (channels first), got channels-last shape "
                             f"{tuple(x.shape)}; use X.permute(0, 3, 1, 2).")
        if x.shape[1] == 1 and channels == 3:
            raise ValueError(f"{name}: expected {expected} (RGB), got a grayscale batch of shape "
                             f"{tuple(x.shape)}; use X.expand(-1, 3, -1, -1) to repeat the channel.")
        raise ValueError(f"{name}: expected {expected}, got {x.shape[1]} channels in shape {tuple(x.shape)}.")
    return x


def check_labels(y, n: int, num_classes: int | None = None, name: str = "y") -> torch.Tensor:
    """Check that ``y`` is an integer tensor of shape (n,) with values in [0, num_classes)."""
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name}: expected an integer torch.Tensor of shape ({n},), got {describe(y)}.")
    if tuple(y.shape) != (n,):
        raise ValueError(f"{name}: expected shape ({n},) to match the batch, got {tuple(y.shape)}.")
    if num_classes is not None and y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"{name}: expected class indices in [0, {num_classes}), got values from "
                         f"{int(y.min())} to {int(y.max())}.")
    return y


def check_class_index(target: int, num_classes: int | None = None, name: str = "target_y") -> int:
    """Check that ``target`` is one integer class index and return it as ``int``."""
    if isinstance(target, torch.Tensor):
        if target.numel() != 1 or torch.is_floating_point(target):
            raise TypeError(f"{name}: expected one integer class index, got {describe(target)}.")
        target = int(target.item())
    if isinstance(target, bool) or not isinstance(target, int):
        try:
            import numpy as np
            if isinstance(target, np.integer):
                target = int(target)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(f"{name}: expected one integer class index, got {describe(target)}.") from None
    if num_classes is not None and not 0 <= target < num_classes:
        raise ValueError(f"{name}: expected a class index in [0, {num_classes}), got {target}.")
    return target
