"""Notebook 04's probes (untrusted side: they run the student's functions) and the Probe objects."""
from __future__ import annotations

import numpy as np

from ...arrays import flag, to_array
from ...check import Probe, follows_reference
from .._kit import input_state, unpack_pair
from .context import (
    FILTER_ASCENT_ID,
    FILTER_ASCENT_ITERATIONS,
    FILTER_ASCENT_LR,
    FILTER_ASCENT_SEED,
    FILTER_BN_LAYER,
    FILTER_ID,
    FILTER_IMAGES,
    FILTER_ITERATIONS,
    FILTER_LAYER,
    FILTER_LR,
    FILTER_OTHER_IMAGES,
    FILTER_SEED,
    IG_BATCH,
    IG_BATCH_STEPS,
    IG_COMPLETE_IMAGE,
    IG_COMPLETE_STEPS,
    IG_IMAGE,
    IG_SMALL_BATCH,
    IG_SMALL_STEPS,
    IG_SMALL_TARGET,
    IG_STEPS,
    SALIENCY_IMAGES,
    SMOOTH_SPY_DRAWS,
    SMOOTH_SPY_EPOCH,
    SMOOTH_SPY_EPOCHS,
    SMOOTH_SPY_MULTIPLIER,
    SMOOTH_SPY_SEED,
    SMOOTH_SPY_TARGET,
    SMOOTH_ZERO_IMAGE,
    Context,
)


def _output(value, what: str, like) -> tuple[np.ndarray, np.ndarray]:
    """``{name: array, name_dtype_ok: flag}`` of a returned tensor (its dtype must be the input's)."""
    import torch

    array = to_array(value, what)
    return array, flag(isinstance(value, torch.Tensor) and value.dtype == like.dtype)


def _seed(seed: int) -> None:
    import random

    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _saliency_probe(fn, ctx: Context) -> dict:
    x, y = ctx.on_device(ctx.X[SALIENCY_IMAGES]), ctx.on_device(ctx.y[SALIENCY_IMAGES])
    out, ok = _output(fn(x, y, ctx.fresh_model()), "compute_saliency_maps returned", x)
    small_x, small_y = (ctx.on_device(t) for t in ctx.smooth_model_inputs())
    small, _ = _output(fn(small_x, small_y, ctx.smooth_model()), "compute_saliency_maps returned (small model)",
                       small_x)
    return {"saliency": out, "saliency_dtype_ok": ok, "saliency_small": small, **input_state(x)}


def _smooth_zero_probe(fn, ctx: Context) -> dict:
    x, y = ctx.on_device(ctx.X[SMOOTH_ZERO_IMAGE]), ctx.on_device(ctx.y[SMOOTH_ZERO_IMAGE])
    out, ok = _output(fn(x, y, ctx.fresh_model(), 2, 0.0), "smooth_grad returned", x)
    return {"smooth": out, "smooth_dtype_ok": ok, **input_state(x)}


def _noise_spy(model):
    """``model`` behind a module that records (on the CPU, float64) every input it is called with."""
    import torch

    class NoiseSpy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model
            self.seen = []

        def forward(self, z):
            self.seen.append(z.detach().to("cpu", torch.float64).clone())
            return self.inner(z)
    return NoiseSpy()


def _smooth_spy_probe(fn, ctx: Context) -> dict:
    import torch

    x = ctx.on_device(ctx.smooth_spy_image())
    y = SMOOTH_SPY_TARGET
    spy = _noise_spy(ctx.smooth_model())
    x64 = x.detach().to("cpu", torch.float64)
    copies, noise, maps = [], [], []
    epochs = (*SMOOTH_SPY_EPOCHS, *(SMOOTH_SPY_EPOCH,) * SMOOTH_SPY_DRAWS)
    ok = np.asarray(True)
    for k, epoch in enumerate(epochs):
        _seed(SMOOTH_SPY_SEED + k)
        spy.seen = []
        out = fn(x, y, spy, epoch, SMOOTH_SPY_MULTIPLIER)
        seen = [z.reshape(-1, *x.shape) if z.numel() % x.numel() == 0 else None for z in spy.seen]
        copies.append(sum(len(z) for z in seen if z is not None) if all(z is not None for z in seen) else -1)
        noise += [(z - x64).flatten() for z in seen if z is not None]
        if k >= len(SMOOTH_SPY_EPOCHS):
            array, good = _output(out, "smooth_grad returned", x)
            maps.append(array)
            ok = ok & good
    noise = torch.cat(noise).numpy() if noise else np.zeros(0)
    return {"copies": np.asarray(copies, dtype=np.float64), "noise_std": np.asarray(noise.std() if noise.size else 0.0),
            "noise_mean": np.asarray(noise.mean() if noise.size else 0.0), "maps": np.stack(maps), "maps_dtype_ok": ok}


def _hooks_left(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


def _pair(result, what: str):
    return unpack_pair(result, what, "filter_activations, filter_visualizations")


def _filter_probe(fn, ctx: Context) -> dict:
    x, other = ctx.on_device(ctx.X[FILTER_IMAGES]), ctx.on_device(ctx.X[FILTER_OTHER_IMAGES])
    model = ctx.fresh_model()
    _seed(FILTER_SEED)
    acts, vis = _pair(fn(x, model, FILTER_LAYER, FILTER_ID, FILTER_ITERATIONS, FILTER_LR), "filter_explanation returned")
    hooks = _hooks_left(model)
    outputs = {"hooks_left": np.asarray(hooks), **input_state(x)}
    outputs["activations"], outputs["activations_dtype_ok"] = _output(acts, "filter_activations", x)
    outputs["visualizations"], outputs["visualizations_dtype_ok"] = _output(vis, "filter_visualizations", x)
    _seed(FILTER_SEED)
    _, vis_other = _pair(fn(other, ctx.fresh_model(), FILTER_LAYER, FILTER_ID, FILTER_ITERATIONS, FILTER_LR),
                         "filter_explanation returned")
    outputs["visualizations_other"], _ = _output(vis_other, "filter_visualizations (other images)", x)
    # The Adam ascent from a given noise image: x is the noise that rand_like(x) draws again after the same seed.
    _seed(FILTER_ASCENT_SEED)
    import torch

    start = torch.rand_like(x)
    _seed(FILTER_ASCENT_SEED)
    _, ascent = _pair(fn(start.clone(), ctx.fresh_model(), FILTER_LAYER, FILTER_ASCENT_ID, FILTER_ASCENT_ITERATIONS,
                         FILTER_ASCENT_LR), "filter_explanation returned")
    outputs["ascent"], _ = _output(ascent, "filter_visualizations (from a given noise image)", x)
    # A model that fails on its second forward pass (inside the optimisation loop): the hook must go all the same.
    failing = ctx.fresh_model()
    calls = [0]
    forward = failing.forward

    def fails_mid_loop(*args, **kwargs):
        calls[0] += 1
        if calls[0] >= 2:
            raise RuntimeError("the model failed mid-loop (a probe of the grader)")
        return forward(*args, **kwargs)
    failing.forward = fails_mid_loop
    try:
        fn(x.clone(), failing, FILTER_LAYER, FILTER_ID, 2, FILTER_LR)
    except Exception:   # noqa: BLE001 - expected: the model raised
        pass
    outputs["hooks_left_after_error"] = np.asarray(_hooks_left(failing))
    return outputs


def _filter_bn_probe(fn, ctx: Context) -> dict:
    x = ctx.on_device(ctx.X[FILTER_IMAGES])
    acts, _ = _pair(fn(x, ctx.fresh_model(), FILTER_BN_LAYER, FILTER_ID, 1, FILTER_LR), "filter_explanation returned")
    out, ok = _output(acts, "filter_activations", x)
    return {"activations": out, "activations_dtype_ok": ok}


def _ig_probe(image: int, steps: int):
    def run(cls, ctx: Context) -> dict:
        x, target = ctx.on_device(ctx.X[image:image + 1]), ctx.on_device(ctx.y[image])
        out = cls(ctx.fresh_model()).generate_integrated_gradients(x, target, steps)
        attributions, ok = _output(out, "generate_integrated_gradients returned", x)
        outputs = {"attributions": attributions, "attributions_dtype_ok": ok, **input_state(x, "input_image")}
        if image == IG_IMAGE:     # batches smaller than the path, and a model whose gradient at the baseline counts
            batched = cls(ctx.fresh_model()).generate_integrated_gradients(ctx.on_device(ctx.X[image:image + 1]),
                                                                          target, IG_BATCH_STEPS, batch_size=IG_BATCH)
            outputs["batched"], _ = _output(batched, "generate_integrated_gradients returned (batch_size=3)", x)
            small_x = ctx.on_device(ctx.smooth_model_inputs()[0][:1])
            small = cls(ctx.smooth_model()).generate_integrated_gradients(small_x, IG_SMALL_TARGET, IG_SMALL_STEPS,
                                                                          batch_size=IG_SMALL_BATCH)
            outputs["small"], _ = _output(small, "generate_integrated_gradients returned (small model)", x)
        return outputs
    return run


SALIENCY_PROBE = Probe("saliency", "compute_saliency_maps", _saliency_probe, engaged=follows_reference("saliency"))
SMOOTH_ZERO_PROBE = Probe("smooth_zero_noise", "smooth_grad", _smooth_zero_probe)
SMOOTH_STATS_PROBE = Probe("smooth_statistics", "smooth_grad", _smooth_spy_probe)
FILTER_PROBE = Probe("filter", "filter_explanation", _filter_probe)
FILTER_BN_PROBE = Probe("filter_batchnorm", "filter_explanation", _filter_bn_probe)
IG_PROBE = Probe("integrated_gradients", "IntegratedGradients", _ig_probe(IG_IMAGE, IG_STEPS),
                 engaged=follows_reference("attributions"))
IG_COMPLETE_PROBE = Probe("ig_completeness", "IntegratedGradients", _ig_probe(IG_COMPLETE_IMAGE, IG_COMPLETE_STEPS))
