"""Inputs and probes of notebook 04's checks (the untrusted side): the offline food classifier, the 10 offline
sample images drawn in memory (the same bytes as the JPEGs the notebook reads), and what each probe asks the
student's functions. The verdicts are in :mod:`.cnn_explanation`.
"""
from __future__ import annotations

import copy
import functools

import numpy as np

from ..arrays import flag, to_array
from ..check import Probe, SubmissionError, follows_reference

ASSIGNMENT_ID = "04_cnn_explanation"
NOTEBOOK = "cnn_explanation.ipynb"
FUNCTIONS = ("compute_saliency_maps", "smooth_grad", "filter_explanation", "IntegratedGradients", "ANSWERS")
QUESTIONS = {n: 4 for n in range(1, 23)}  # 22 questions, options a-d

SALIENCY_IMAGES = [0, 3, 5, 8]
SMOOTH_ZERO_IMAGE = 1
FILTER_IMAGES, FILTER_OTHER_IMAGES = [4, 7], [1, 9]
FILTER_LAYER, FILTER_BN_LAYER, FILTER_ID = 6, 7, 0
FILTER_ITERATIONS, FILTER_LR, FILTER_SEED = 10, 0.1, 0
FILTER_RAISE_SHARE = 0.5           # the visualization must gain at least half the reference's activation gain
IG_IMAGE, IG_STEPS = 3, 8
IG_COMPLETE_IMAGE, IG_COMPLETE_STEPS, IG_COMPLETE_RTOL = 6, 48, 0.08   # Riemann rules: within 1..4.4%
SMOOTH_MODEL_SEED = 7             # the small smooth classifier of the second saliency input
# SmoothGrad's statistics, on the small smooth classifier behind a spy that records every noisy copy: the copies
# of each call are counted (epoch 1; 40, more than one batch of 32; 6) and their noise measured against the stated
# standard deviation multiplier * (x.max() - x.min()) (a yardstick the student does not control); 24 maps of 6
# copies are compared in distribution with the reference's 24 (per-pixel standard errors of the reference's maps).
SMOOTH_SPY_MULTIPLIER, SMOOTH_SPY_EPOCHS = 0.5, (1, 40)
SMOOTH_SPY_DRAWS, SMOOTH_SPY_EPOCH, SMOOTH_SPY_SEED, SMOOTH_SPY_TARGET = 96, 6, 303, 4
SMOOTH_NOISE_RTOL = 0.05          # the measured noise std within 5% of multiplier * range (about 30000 values)
SMOOTH_SHIFT, SMOOTH_SPREAD = 3.0, 2.0   # mean shift in standard errors; spread ratio within [1/2, 2]
# The filter's Adam ascent from a given noise image (the same for every correct answer: the probe passes the noise
# as x and fixes the seed, so rand_like(x) is that noise again): another filter, lr and number of steps.
FILTER_ASCENT_ID, FILTER_ASCENT_ITERATIONS, FILTER_ASCENT_LR, FILTER_ASCENT_SEED = 3, 4, 0.05, 7
FILTER_ASCENT_RTOL = 2e-2         # Adam is scale-invariant: the mean instead of the sum moves it by ~1e-4
IG_BATCH_STEPS, IG_BATCH = 9, 3   # a batch_size below steps that divides it (no empty last chunk for the model)
IG_SMALL_TARGET, IG_SMALL_STEPS, IG_SMALL_BATCH = 4, 7, 2   # small smooth classifier: grad F(0) counts; no divisor
PLAUSIBLE = 1e4                    # |values| above this are not an image or a map


class Context:
    """Model and inputs of notebook 04's probes (CPU; probes move copies to ``device``).

    X: (10, 3, 128, 128) float32 in [0, 1]; y: (10,) int64."""

    def __init__(self, device: str = "cpu"):
        import torch

        import hwlib
        from hwlib.datasets.food import synthetic_food_samples

        loaded = hwlib.load_food_classifier("offline", device="cpu")
        samples = synthetic_food_samples(10)
        self.device = torch.device(device)
        self.base_model = loaded.model
        self.class_names = loaded.class_names
        self.X = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float().div(255).contiguous()
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)

    def fresh_model(self):
        """A private copy of the frozen model on ``device`` (one probe cannot spoil the next)."""
        return copy.deepcopy(self.base_model).to(self.device).eval()

    def on_device(self, tensor):
        return tensor.clone().to(self.device)

    def smooth_model(self):
        """A small smooth classifier (conv, tanh, linear; 11 classes, 16 x 16 RGB) whose saliency maps have no
        zero pixel, unlike the food classifier's (ReLU and max-pooling leave exact zeros, so there a map's minimum
        is 0 and skipping the ``- map.min()`` of the normalisation would go unseen). Seeded: the same everywhere."""
        import torch

        generator = torch.Generator().manual_seed(SMOOTH_MODEL_SEED)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
                                    torch.nn.Linear(4 * 16 * 16, 11))
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * (0.5 if p.dim() > 1 else 0.1))
        return model.to(self.device).eval()

    def smooth_model_inputs(self):
        """(x (3, 3, 16, 16) in [0.1, 0.9], y (3,)) for :meth:`smooth_model`."""
        import torch

        generator = torch.Generator().manual_seed(SMOOTH_MODEL_SEED + 1)
        return 0.1 + 0.8 * torch.rand(3, 3, 16, 16, generator=generator), torch.tensor([0, 4, 10])

    def smooth_spy_image(self):
        """A dim (3, 16, 16) image for :meth:`smooth_model` (range about 0.3)."""
        return 0.35 + 0.375 * self.smooth_model_inputs()[0][1]

    def layer_activation(self, images: np.ndarray, cnnid: int, filterid: int) -> np.ndarray:
        """Trusted ``model.cnn[cnnid]`` output of ``filterid`` for float32 images ``(N, 3, H, W)``: ``(N, H', W')``."""
        import torch

        with torch.no_grad():
            return self.base_model.cnn[:cnnid + 1](torch.from_numpy(images))[:, filterid].double().numpy()

    def logit(self, images: np.ndarray, target: int) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.base_model(torch.from_numpy(images))[:, target].double().numpy()


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """The Context for ``device``, built once per process (nbgrader runs one hidden cell per quiz question, each
    asking for it): probes and verdicts only read it (probes get copies of the model and the inputs)."""
    return Context(device)


# ----------------------------------------------------------------------------------------------- probes (untrusted side)

def _output(value, what: str, like) -> tuple[np.ndarray, np.ndarray]:
    """``{name: array, name_dtype_ok: flag}`` of a returned tensor (its dtype must be the input's)."""
    import torch

    array = to_array(value, what)
    return array, flag(isinstance(value, torch.Tensor) and value.dtype == like.dtype)


def _input_state(x, key: str = "x") -> dict:
    return {f"{key}_after": to_array(x, key), f"{key}_requires_grad": flag(x.requires_grad)}


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
    return {"saliency": out, "saliency_dtype_ok": ok, "saliency_small": small, **_input_state(x)}


def _smooth_zero_probe(fn, ctx: Context) -> dict:
    x, y = ctx.on_device(ctx.X[SMOOTH_ZERO_IMAGE]), ctx.on_device(ctx.y[SMOOTH_ZERO_IMAGE])
    out, ok = _output(fn(x, y, ctx.fresh_model(), 2, 0.0), "smooth_grad returned", x)
    return {"smooth": out, "smooth_dtype_ok": ok, **_input_state(x)}


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
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise SubmissionError(f"{what}: expected a tuple (filter_activations, filter_visualizations), got "
                              f"{type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    return result


def _filter_probe(fn, ctx: Context) -> dict:
    x, other = ctx.on_device(ctx.X[FILTER_IMAGES]), ctx.on_device(ctx.X[FILTER_OTHER_IMAGES])
    model = ctx.fresh_model()
    _seed(FILTER_SEED)
    acts, vis = _pair(fn(x, model, FILTER_LAYER, FILTER_ID, FILTER_ITERATIONS, FILTER_LR), "filter_explanation returned")
    hooks = _hooks_left(model)
    outputs = {"hooks_left": np.asarray(hooks), **_input_state(x)}
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
        outputs = {"attributions": attributions, "attributions_dtype_ok": ok, **_input_state(x, "input_image")}
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
