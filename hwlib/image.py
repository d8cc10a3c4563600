"""Image utilities: the ImageNet normalization, preprocess/deprocess, and the two regularizers (blur, jitter)
used by class visualization.

Shapes follow PyTorch: a batch is ``(N, 3, H, W)`` float, normalized with ``SQUEEZENET_MEAN``/``SQUEEZENET_STD``.
Arrays for display are ``(H, W, 3)`` uint8. No function here modifies its input.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._validation import check_image_batch, describe

SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _channel_stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std as (1, 3, 1, 1) tensors on ``like``'s device and dtype."""
    mean = torch.as_tensor(SQUEEZENET_MEAN, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
    std = torch.as_tensor(SQUEEZENET_STD, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
    return mean, std


def _as_float_nhwc(img) -> np.ndarray:
    """PIL image or array (H, W, 3) / (N, H, W, 3), uint8 in [0, 255] or float in [0, 1] -> float32 (N, H, W, 3)."""
    if isinstance(img, torch.Tensor):
        raise TypeError(f"preprocess: expected a PIL image or a numpy array (H, W, 3) / (N, H, W, 3), got "
                        f"{describe(img)}; it is already a tensor (use it directly if it is normalized).")
    if hasattr(img, "convert") and hasattr(img, "mode"):  # PIL image without importing PIL
        if img.mode not in ("RGB", "RGBA"):
            raise ValueError(f"preprocess: expected an RGB image, got a PIL image in mode {img.mode!r}; "
                             "use img.convert('RGB').")
        img = np.asarray(img.convert("RGB"))
    arr = np.asarray(img)
    if arr.ndim == 2 or (arr.ndim in (3, 4) and arr.shape[-1] == 1):
        raise ValueError(f"preprocess: expected an RGB image of shape (H, W, 3), got grayscale shape {arr.shape}; "
                         "repeat the channel with np.repeat(img[..., None], 3, axis=-1).")
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
        raise ValueError(f"preprocess: expected channels-last (H, W, 3), got channels-first shape {arr.shape}; "
                         "use img.transpose(1, 2, 0).")
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(f"preprocess: expected an image (H, W, 3) or a batch (N, H, W, 3), got shape {arr.shape}.")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.floating):
        if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
            raise ValueError(f"preprocess: float images must lie in [0, 1], got values in "
                             f"[{arr.min():.3g}, {arr.max():.3g}]; pass uint8 pixels or divide by 255.")
        arr = arr.astype(np.float32)
    else:
        raise TypeError(f"preprocess: expected uint8 pixels or floats in [0, 1], got dtype {arr.dtype}.")
    return arr[None] if arr.ndim == 3 else arr


def preprocess(img, size: int | None = 224) -> torch.Tensor:
    """Turn RGB pixels into a normalized batch for the network.

    Args:
        img: PIL image, or array ``(H, W, 3)`` / ``(N, H, W, 3)``; uint8 in [0, 255] or float in [0, 1].
        size: the shorter side is resized to ``size`` (aspect kept, antialiased); ``None`` keeps the size.

    Returns:
        float32 tensor ``(N, 3, H', W')`` normalized with ``SQUEEZENET_MEAN``/``SQUEEZENET_STD`` (N = 1 for one image).
    """
    x = torch.from_numpy(np.ascontiguousarray(_as_float_nhwc(img))).permute(0, 3, 1, 2)
    if size is not None:
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"preprocess: size must be a positive int or None, got {size!r}.")
        h, w = x.shape[-2:]
        if min(h, w) != size:
            scale = size / min(h, w)
            new = (max(size, round(h * scale)), max(size, round(w * scale)))
            x = F.interpolate(x, size=new, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    mean, std = _channel_stats(x)
    return ((x - mean) / std).contiguous()


def rescale(x: torch.Tensor) -> torch.Tensor:
    """Min-max rescale a tensor to [0, 1] (a constant tensor maps to zeros). Returns a new tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"rescale: expected a torch.Tensor, got {describe(x)}.")
    low, high = x.min(), x.max()
    span = high - low
    if span <= 0:
        return torch.zeros_like(x)
    return (x - low) / span


def deprocess(img: torch.Tensor, should_rescale: bool = True) -> np.ndarray:
    """Undo ``preprocess`` for display.

    Args:
        img: normalized tensor ``(N, 3, H, W)`` or ``(3, H, W)`` (any device, gradients ignored).
        should_rescale: min-max rescale each image to [0, 1] (as CS231n does) instead of clipping.

    Returns:
        uint8 array ``(H, W, 3)`` for one image (``N == 1`` or no batch axis), else ``(N, H, W, 3)``.
    """
    if isinstance(img, torch.Tensor) and img.dim() == 3:
        img = img.unsqueeze(0)
    x = check_image_batch(img, "deprocess: img").detach().float().cpu()
    mean, std = _channel_stats(x)
    x = x * std + mean
    if should_rescale:
        x = torch.stack([rescale(xi) for xi in x])
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return x[0] if x.shape[0] == 1 else x


def image_bounds(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalized values of pixel 0 and pixel 1 per channel, as (1, 3, 1, 1) tensors like ``like``."""
    mean, std = _channel_stats(like)
    return -mean / std, (1 - mean) / std


def clamp_to_image(img: torch.Tensor) -> torch.Tensor:
    """Clamp a normalized batch ``(N, 3, H, W)`` to values that correspond to pixels in [0, 1]. New tensor."""
    check_image_batch(img, "clamp_to_image: img")
    lo, hi = image_bounds(img)
    return torch.maximum(torch.minimum(img, hi), lo)


def _gaussian_kernel1d(sigma: float, like: torch.Tensor) -> torch.Tensor:
    radius = int(4.0 * sigma + 0.5)  # scipy.ndimage.gaussian_filter1d's default truncate=4.0
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype=like.dtype, device=like.device)


def _blur_along(x: torch.Tensor, kernel: torch.Tensor, dim: int) -> torch.Tensor:
    """Convolve every row (dim=-1) or column (dim=-2) of ``x`` with ``kernel``, mirror ('reflect') boundaries."""
    r = kernel.numel() // 2
    x = x.transpose(dim, -1) if dim != -1 else x
    n = x.shape[-1]
    # scipy's 'reflect' mode (d c b a | a b c d | d c b a); tile for kernels wider than the image.
    reps = math.ceil(r / n) if r else 0
    left, right = torch.cat([x, x.flip(-1)], dim=-1), torch.cat([x.flip(-1), x], dim=-1)
    padded = torch.cat([left] * reps + [x] + [right] * reps, dim=-1) if reps else x
    start = reps * 2 * n - r if reps else 0
    padded = padded[..., start:start + n + 2 * r]
    shape = padded.shape
    out = F.conv1d(padded.reshape(-1, 1, shape[-1]), kernel.view(1, 1, -1)).reshape(*shape[:-1], n)
    return out.transpose(dim, -1) if dim != -1 else out


def blur_image(X: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Gaussian blur of a batch ``(N, C, H, W)`` along H and W (matches ``scipy.ndimage.gaussian_filter1d`` on
    both axes, mode 'reflect', truncate 4). Runs on ``X``'s device; returns a new tensor."""
    if not isinstance(X, torch.Tensor) or X.dim() != 4 or not torch.is_floating_point(X):
        raise ValueError(f"blur_image: expected a float tensor (N, C, H, W), got {describe(X)}.")
    if not sigma > 0:
        raise ValueError(f"blur_image: sigma must be > 0, got {sigma!r}.")
    with torch.no_grad():
        kernel = _gaussian_kernel1d(float(sigma), X)
        return _blur_along(_blur_along(X.detach(), kernel, -2), kernel, -1)


def jitter(X: torch.Tensor, ox: int, oy: int) -> torch.Tensor:
    """Roll a batch ``(N, C, H, W)`` by ``ox`` pixels along W and ``oy`` along H (wrapping around).

    ``jitter(jitter(X, ox, oy), -ox, -oy)`` equals ``X``. Returns a new tensor.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 4:
        raise ValueError(f"jitter: expected a tensor (N, C, H, W), got {describe(X)}.")
    return torch.roll(X, shifts=(int(oy), int(ox)), dims=(2, 3))
