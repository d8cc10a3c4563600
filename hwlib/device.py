"""Device selection: one place that decides where tensors live, so notebooks never hard-code ``.cuda()``."""
from __future__ import annotations

import torch


def get_device(prefer: str | torch.device = "auto") -> torch.device:
    """The device to compute on.

    Args:
        prefer: ``"auto"`` (CUDA if available, else Apple MPS, else CPU), or an explicit ``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, ``"mps"`` or ``torch.device``.

    Raises:
        ValueError: an unknown name, or an explicit accelerator that this machine does not have.
    """
    if isinstance(prefer, torch.device):
        prefer = str(prefer)
    if not isinstance(prefer, str):
        raise TypeError(f"get_device: expected 'auto', 'cpu', 'cuda' or 'mps', got {prefer!r}.")
    if prefer == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(prefer)
    except RuntimeError:
        raise ValueError(f"get_device: expected 'auto', 'cpu', 'cuda' or 'mps', got {prefer!r}.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("get_device: 'cuda' was requested but no CUDA GPU is available here "
                         "(on Colab: Runtime > Change runtime type > GPU); use 'auto' or 'cpu'.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("get_device: 'mps' was requested but Apple MPS is not available; use 'auto' or 'cpu'.")
    return device


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (CPU for a model with neither)."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")
