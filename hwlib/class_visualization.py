"""The class-visualization loop around a student's update step (Simonyan et al., 2014,
https://arxiv.org/abs/1312.6034; regularizers from Yosinski et al., 2015, https://arxiv.org/abs/1506.06579).

Students write ``class_visualization_update_step(img, model, target_y, l2_reg, learning_rate)``; this module
supplies what surrounds it: the random start, jitter, clamping to valid pixels, periodic blur and progress images.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._validation import check_class_index
from .device import model_device
from .image import blur_image, clamp_to_image, deprocess, jitter

UpdateStep = Callable[[torch.Tensor, torch.nn.Module, int, float, float], object]


def create_class_visualization(target_y: int, model: torch.nn.Module, update_step: UpdateStep, *,
                               image_size: int = 224, l2_reg: float = 1e-3, learning_rate: float = 25.0,
                               num_iterations: int = 100, blur_every: int = 10, max_jitter: int = 16,
                               snapshot_every: int = 25, seed: int | None = 0,
                               progress: bool = True) -> tuple[torch.Tensor, list[tuple[int, np.ndarray]]]:
    """Synthesize an image that ``model`` scores highly as ``target_y``.

    Each iteration: jitter the image by a random offset, call ``update_step(img, model, target_y, l2_reg,
    learning_rate)`` (which must update ``img`` in place), undo the jitter, clamp to valid pixel values, and blur
    every ``blur_every`` iterations (sigma 0.5).

    Args:
        target_y: class index in ``[0, num_classes)``.
        model: frozen classifier; the image is created on its device.
        update_step: the student's one-step function.
        image_size: side of the square image (224 online, 128 for the offline model).
        seed: seeds the start image and the jitter (``None``: not seeded).
        progress: show a tqdm progress bar.

    Returns:
        ``(img, snapshots)``: the final normalized image ``(1, 3, H, W)`` (detached) and a list of
        ``(iteration, uint8 (H, W, 3) image)`` pairs taken at the first, every ``snapshot_every``-th and the last
        iteration, ready for :func:`hwlib.plotting.show_class_visualization_progress`.
    """
    target_y = check_class_index(target_y)
    for name, value in (("num_iterations", num_iterations), ("blur_every", blur_every),
                        ("snapshot_every", snapshot_every), ("image_size", image_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"create_class_visualization: {name} must be a positive int, got {value!r}.")
    if not isinstance(max_jitter, int) or max_jitter < 0:
        raise ValueError(f"create_class_visualization: max_jitter must be an int >= 0, got {max_jitter!r}.")
    from tqdm.auto import trange

    device = model_device(model)
    gen = torch.Generator().manual_seed(seed) if seed is not None else torch.Generator()
    img = torch.randn(1, 3, image_size, image_size, generator=gen).to(device).requires_grad_(True)
    snapshots: list[tuple[int, np.ndarray]] = []
    for t in trange(num_iterations, desc=f"class {target_y}", disable=not progress, leave=False):
        ox, oy = (int(v) for v in torch.randint(0, max_jitter + 1, (2,), generator=gen))
        with torch.no_grad():
            img.copy_(jitter(img, ox, oy))
        update_step(img, model, target_y, l2_reg, learning_rate)
        with torch.no_grad():
            img.copy_(clamp_to_image(jitter(img, -ox, -oy)))
            if t % blur_every == 0:
                img.copy_(blur_image(img, sigma=0.5))
        if t == 0 or (t + 1) % snapshot_every == 0 or t == num_iterations - 1:
            snapshots.append((t + 1, deprocess(img)))
    return img.detach(), snapshots
