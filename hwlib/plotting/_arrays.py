"""The one tensor-to-array conversion the figures use (formerly a private copy in each plotting module)."""
from __future__ import annotations

import numpy as np
import torch


def as_numpy(x, dtype=None) -> np.ndarray:
    """A tensor (any device, with or without grad) as a float32 array; anything else as ``np.asarray(x, dtype)``."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=dtype)
