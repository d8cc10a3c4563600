"""Inputs and probes of notebook 04's checks (the untrusted side): the offline food classifier, the 10 offline
sample images drawn in memory (the same bytes as the JPEGs the notebook reads), and what each probe asks the
student's functions. The verdicts are in :mod:`.cnn_explanation`.
"""
from __future__ import annotations

import copy
import functools

import numpy as np

from ..arrays import flag, to_array
from ..check import Probe, SubmissionError

ASSIGNMENT_ID = "04_cnn_explanation"
NOTEBOOK = "cnn_explanation.ipynb"
FUNCTIONS = ("compute_saliency_maps", "smooth_grad", "filter_explanation", "IntegratedGradients", "ANSWERS")
QUESTIONS = {n: 4 for n in range(1, 23)}  # 22 questions, options a-d

SALIENCY_IMAGES = [0, 3, 5, 8]
SMOOTH_ZERO_IMAGE, SMOOTH_STATS_IMAGE = 1, 2
SMOOTH_STATS_SAMPLES, SMOOTH_STATS_MULTIPLIER, SMOOTH_STATS_SEEDS = 16, 0.2, (101, 202)
SMOOTH_POOL = 8                    # the statistics compare 8 x 8 block means (pixel noise averages out, blur does not)
SMOOTH_RATIO = 2.0                 # allowed distance of the means, in units of the distance between two correct ones
FILTER_IMAGES, FILTER_OTHER_IMAGES = [4, 7], [1, 9]
FILTER_LAYER, FILTER_BN_LAYER, FILTER_ID = 6, 7, 0
FILTER_ITERATIONS, FILTER_LR, FILTER_SEED = 10, 0.1, 0
FILTER_RAISE_SHARE = 0.5           # the visualization must gain at least half the reference's activation gain
IG_IMAGE, IG_STEPS = 3, 8
IG_COMPLETE_IMAGE, IG_COMPLETE_STEPS, IG_COMPLETE_RTOL = 6, 48, 0.08   # Riemann rules: within 1..4.4%
SMOOTH_MODEL_SEED = 7             # the small smooth classifier of the second saliency input
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

    def smooth_stats_image(self):
        """A dimmed image (a quarter of the original's range): noise proportional to the range is then told apart
        from noise inversely proportional to it, or independent of it."""
        return 0.375 + 0.25 * self.X[SMOOTH_STATS_IMAGE]

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


def _smooth_stats_probe(fn, ctx: Context) -> dict:
    x, y = ctx.on_device(ctx.smooth_stats_image()), ctx.on_device(ctx.y[SMOOTH_STATS_IMAGE])
    model, outputs = ctx.fresh_model(), {}
    for k, seed in enumerate(SMOOTH_STATS_SEEDS):
        _seed(seed)
        out = fn(x, y, model, SMOOTH_STATS_SAMPLES, SMOOTH_STATS_MULTIPLIER)
        outputs[f"draw{k}"], outputs[f"draw{k}_dtype_ok"] = _output(out, "smooth_grad returned", x)
    return outputs


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
        return {"attributions": attributions, "attributions_dtype_ok": ok, **_input_state(x, "input_image")}
    return run


SALIENCY_PROBE = Probe("saliency", "compute_saliency_maps", _saliency_probe)
SMOOTH_ZERO_PROBE = Probe("smooth_zero_noise", "smooth_grad", _smooth_zero_probe)
SMOOTH_STATS_PROBE = Probe("smooth_statistics", "smooth_grad", _smooth_stats_probe)
FILTER_PROBE = Probe("filter", "filter_explanation", _filter_probe)
FILTER_BN_PROBE = Probe("filter_batchnorm", "filter_explanation", _filter_bn_probe)
IG_PROBE = Probe("integrated_gradients", "IntegratedGradients", _ig_probe(IG_IMAGE, IG_STEPS))
IG_COMPLETE_PROBE = Probe("ig_completeness", "IntegratedGradients", _ig_probe(IG_COMPLETE_IMAGE, IG_COMPLETE_STEPS))
