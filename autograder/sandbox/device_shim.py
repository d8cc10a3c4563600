"""Run code written for Colab's GPU on a CPU-only grader.

Inside ``cuda_on_cpu()``, ``x.cuda()`` / ``model.cuda()`` keep things on the CPU, and every ``"cuda"``,
``"cuda:0"`` or ``torch.device("cuda")`` passed to a torch function (``.to(...)``, ``torch.zeros(..., device=...)``)
means the CPU. ``torch.cuda.is_available()`` still says False, so code that asks gets an honest answer. On a
machine with a GPU the shim is not used: the code runs on the GPU as written.
"""
from __future__ import annotations

import contextlib
import re

_CUDA_NAME = re.compile(r"cuda(:\d+)?")
_NOOP_CUDA_FUNCTIONS = ("synchronize", "empty_cache", "reset_peak_memory_stats")


def _on_cpu(value):
    import torch

    if isinstance(value, torch.device) and value.type == "cuda":
        return torch.device("cpu")
    if isinstance(value, str) and _CUDA_NAME.fullmatch(value):
        return "cpu"
    return value


def _make_mode():
    import torch
    from torch.overrides import TorchFunctionMode

    class CudaOnCpu(TorchFunctionMode):
        """Maps CUDA device arguments to the CPU for every torch function call made while it is active."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.Tensor.cuda:
                return args[0] if args[0].device.type == "cpu" else args[0].cpu()
            args = tuple(_on_cpu(a) for a in args)
            kwargs = {k: _on_cpu(v) for k, v in (kwargs or {}).items()}
            return func(*args, **kwargs)

    return CudaOnCpu()


@contextlib.contextmanager
def cuda_on_cpu(enabled: bool = True):
    """Activate the shim (a no-op context when ``enabled`` is False, e.g. on a GPU grader)."""
    if not enabled:
        yield
        return
    import torch

    saved = {name: getattr(torch.cuda, name) for name in _NOOP_CUDA_FUNCTIONS if hasattr(torch.cuda, name)}
    for name in saved:
        setattr(torch.cuda, name, lambda *args, **kwargs: None)
    try:
        with _make_mode():
            yield
    finally:
        for name, fn in saved.items():
            setattr(torch.cuda, name, fn)


def resolve_device(name: str) -> str:
    """``auto``/``cpu``/``cuda`` -> the device student code runs on."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is available on this machine; use --device auto or cpu.")
    return name
