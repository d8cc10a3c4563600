"""Notebook 02's probes (untrusted side: they run the student's functions) and the Probe objects."""
from __future__ import annotations

import numpy as np

from ...arrays import flag, to_array
from ...check import Probe, follows_reference
from .._kit import kind
from .context import FOOLING_CASES, FOOLING_RECORD_LIMIT, SALIENCY_BATCH, SALIENCY_SINGLE, STEP_LEARNING_RATE, Context


def _saliency_probe(index: slice):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        X, y = ctx.on_device(ctx.X[index]), ctx.on_device(ctx.y[index])
        like = X.detach().clone()
        out = fn(X, y, ctx.fresh_model())
        return {"saliency": to_array(out, "compute_saliency_maps returned"), "saliency_kind": kind(out, like),
                "x_after": to_array(X, "X"), "x_requires_grad": flag(X.requires_grad)}
    return run


def _recorder(model, shape, limit: int = FOOLING_RECORD_LIMIT):
    """``model`` wrapped so that it records every distinct image ``(3, H, W)`` it is called with (consecutive
    repeats once, at most ``limit``, non-finite ones skipped) in ``.images``; attributes pass through to ``model``.
    It runs in the student's process: what it records is evidence that can lower a score, never raise one."""
    import torch

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model
            self.images: list = []
            self.truncated = False

        def forward(self, x, *args, **kwargs):
            if isinstance(x, torch.Tensor) and x.dim() == 4 and tuple(x.shape[1:]) == tuple(shape):
                with torch.no_grad():
                    for sample in x.detach().to("cpu", torch.float32):
                        if not bool(torch.isfinite(sample).all()) or (
                                self.images and torch.equal(self.images[-1], sample)):
                            continue
                        if len(self.images) >= limit:
                            self.truncated = True
                            break
                        self.images.append(sample.clone())
            return self.inner(x, *args, **kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["inner"], name)

    return Recorder()


def _fooling_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, (i, target) in enumerate(FOOLING_CASES):
        X = ctx.on_device(ctx.X[i:i + 1])
        like = X.detach().clone()
        model = _recorder(ctx.fresh_model(), X.shape[1:])
        result = fn(X, target, model)
        out[f"fooling_{k}"] = to_array(result, "make_fooling_image returned")
        out[f"fooling_{k}_kind"] = kind(result, like)
        images = model.images
        out[f"inputs_{k}"] = (np.stack([im.numpy() for im in images]) if images else
                              np.zeros((0, *X.shape[1:]), np.float32))
        out[f"inputs_{k}_truncated"] = flag(model.truncated)
        out[f"x_after_{k}"] = to_array(X, "X")
        out[f"x_requires_grad_{k}"] = flag(X.requires_grad)
    return out


def _step_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    img = ctx.on_device(ctx.step_start()).requires_grad_(True)
    like = img.detach().clone()
    model, target = ctx.fresh_model(), int(ctx.y[0])
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    after_one, kind_one = to_array(img, "img after one call"), kind(img, like)
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    return {"after_one": after_one, "after_one_kind": kind_one,
            "after_two": to_array(img, "img after two calls"), "after_two_kind": kind(img, like)}


SALIENCY_BATCH_PROBE = Probe("saliency_batch", "compute_saliency_maps", _saliency_probe(SALIENCY_BATCH),
                              engaged=follows_reference("saliency"))
SALIENCY_SINGLE_PROBE = Probe("saliency_single", "compute_saliency_maps", _saliency_probe(SALIENCY_SINGLE),
                               engaged=follows_reference("saliency"))
FOOLING_PROBE = Probe("fooling", "make_fooling_image", _fooling_probe)
STEP_PROBE = Probe("update_step", "class_visualization_update_step", _step_probe)
