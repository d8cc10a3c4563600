"""Photos bundled with scikit-image (``skimage.data``), as square RGB tensors in [0, 1].

They ship inside the scikit-image wheel, so they work offline; notebook 03 attacks them with the online GoogLeNet
(the seed article turns a kitten into a bath towel: ``chelsea`` is that kitten).

    >>> photos = load_photos(("chelsea", "coffee"), size=224)
    >>> photos.images.shape, photos.names
    (torch.Size([2, 3, 224, 224]), ('chelsea', 'coffee'))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: name -> what it shows (every one is bundled with scikit-image; grayscale ones become 3 equal channels).
PHOTOS = {
    "chelsea": "a tabby kitten",
    "coffee": "a cup of coffee",
    "astronaut": "astronaut Eileen Collins",
    "rocket": "a rocket on its launch pad",
    "motorcycle": "a motorcycle (left image of a stereo pair)",
    "hubble_deep_field": "the Hubble deep field",
    "immunohistochemistry": "a stained tissue sample",
    "camera": "a man with a camera (grayscale)",
    "clock": "a wall clock (grayscale)",
    "coins": "old coins (grayscale)",
    "moon": "the surface of the moon (grayscale)",
}
DEFAULT_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle")


@dataclass(frozen=True)
class Photos:
    """images ``(N, 3, size, size)`` float32 in [0, 1] (centre crop, resized); names: the ``skimage.data`` names."""
    images: torch.Tensor
    names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _raw_photo(name: str) -> np.ndarray:
    """The photo as uint8 ``(H, W, 3)``."""
    import skimage.data

    img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def square_resize(img: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` -> float32 ``(3, size, size)`` in [0, 1]: centre crop to a square, then an
    antialiased bilinear resize."""
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = torch.from_numpy(img[top:top + side, left:left + side]).permute(2, 0, 1).float().div(255.0)
    if side != size:
        x = F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return x.clamp(0.0, 1.0).contiguous()


def load_photos(names=DEFAULT_PHOTOS, size: int = 224) -> Photos:
    """Photos from ``skimage.data`` as a batch of square images in [0, 1].

    Args:
        names: a name or a sequence of names from :data:`PHOTOS` (default :data:`DEFAULT_PHOTOS`).
        size: side length in pixels (224 for ImageNet networks).

    Returns:
        :class:`Photos` with images ``(len(names), 3, size, size)`` float32 in [0, 1].
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in PHOTOS]
    if not names or unknown:
        raise ValueError(f"load_photos: expected names from {', '.join(PHOTOS)}, got {list(names)!r}.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"load_photos: size must be an int >= 8, got {size!r}.")
    return Photos(torch.stack([square_resize(_raw_photo(n), size) for n in names]), names)
