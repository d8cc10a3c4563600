"""Notebook 04's model and inputs (:class:`Context`): the offline food classifier, the 10 offline sample images
drawn in memory (the same bytes as the JPEGs the notebook reads), a small smooth classifier; and the constants its
probes and verdicts share."""
from __future__ import annotations

import functools

import numpy as np

from .._kit import ModelContext

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


class Context(ModelContext):
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

    def warm(self) -> None:
        """Load what the probes' first use of torch loads, once, before the sandbox's launcher forks (each fork
        would load it again): the filter probe's student code builds an optimizer, and torch imports its compiler
        package (``torch._dynamo``, about 2 s and 900 modules) on the first optimizer built in a process."""
        import torch

        torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    def fresh_model(self):
        """A private copy of the frozen model on ``device`` (one probe cannot spoil the next)."""
        return self.private_model(self.base_model)

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
