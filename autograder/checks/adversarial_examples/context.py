"""Notebook 03's model and inputs (:class:`Context`, with its trusted computations) and the constants its probes
and verdicts share."""
from __future__ import annotations

import functools

import numpy as np

from .._kit import ModelContext, OneThread

NUM_IMAGES = 10
GRADIENT_IMAGES, GRADIENT_TARGET = slice(0, 2), 1
TRICK_IMAGES, TRICK_TARGET, TRICK_STEPS, TRICK_STEP_SIZE = slice(2, 4), 8, 3, 2 / 255
TRICK_EDGE_STEP = 4 / 255
FGSM_IMAGES, FGSM_EPS = slice(4, 8), 4 / 255
TARGETED_IMAGES, TARGETED_SHIFT = (0, 2, 3, 5), 3    # target = (label + 3) % 10; each reached with p > 0.99
TARGETED_EPS, TARGETED_STEP, TARGETED_STEPS = 8 / 255, 1 / 255, 10
SHORT_IMAGES, SHORT_SHIFT, SHORT_STEPS = slice(8, 10), 5, 2
LINEAR_SEED, LINEAR_TARGET, LINEAR_EPS, LINEAR_COUNT = 0, 3, 0.12, 4   # not the notebook's 0.1
SLACK = 1e-6                      # float rounding of x + delta, of x - eps and of the clamps
MATCH = 1e-5                      # a pixel's change equals the reference's within this
COARSE_BLOCK = 8


class Context(ModelContext):
    """The model and the inputs of notebook 03's probes; inputs live on the CPU and probes move them to ``device``.

    X: (10, 3, 128, 128) float32 pixels in [0, 1]; y: (10,) int64 labels; digits: (4, 1, 28, 28) float32 in [0, 1]
    with labels digit_y (none is LINEAR_TARGET); weights: (10, 784) float32 seeded N(0, 0.1^2)."""

    def __init__(self, device: str = "cpu"):
        import torch

        import hwlib

        loaded = hwlib.load_squeezenet("offline", device="cpu")
        samples = hwlib.load_sample_images(NUM_IMAGES, source="offline")
        self.device = torch.device(device)
        self.base_model = hwlib.NormalizedClassifier(loaded.model, hwlib.SQUEEZENET_MEAN, hwlib.SQUEEZENET_STD,
                                                     check_range=False)
        self.class_names = loaded.class_names
        self.X = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float().div(255).contiguous()
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)
        digits = hwlib.load_digits("offline", split="val")
        keep = (digits.labels != LINEAR_TARGET).nonzero()[:LINEAR_COUNT, 0]
        self.digits, self.digit_y = digits.images[keep].clone(), digits.labels[keep].clone()
        gen = torch.Generator().manual_seed(LINEAR_SEED)
        self.weights = 0.1 * torch.randn(10, 28 * 28, generator=gen)

    def fresh_model(self):
        """A private copy of the model on ``device`` (so one probe cannot spoil the next), frozen as the notebook
        says its classifier is (eval mode, every weight's ``requires_grad`` off): ``.backward()`` on a copy of the
        image, which the notebook allows, then leaves no ``.grad`` on the weights. A result computed from an image
        that requires a gradient still keeps its gradient history, which the side-effect checks see."""
        return self.private_model(self.base_model, requires_grad=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # --------------------------------------------------------------------------------- trusted inputs and outputs
    def gradient_images(self):
        return self.X[GRADIENT_IMAGES]

    def trick_images(self):
        return 0.1 + 0.8 * self.X[TRICK_IMAGES]          # pixels in [0.1, 0.9]: three steps never reach 0 or 1

    def trick_classes(self) -> list[int]:
        return [TRICK_TARGET, *(int(c) for c in self.y[TRICK_IMAGES])]

    def edge_image(self):
        import torch

        return torch.zeros(1, *self.X.shape[1:])

    def targeted_inputs(self):
        index = list(TARGETED_IMAGES)
        return self.X[index], (self.y[index] + TARGETED_SHIFT) % self.num_classes

    def short_inputs(self):
        """Two images with pixels in [0.1, 0.9] (two steps of 1/255 never reach 0 or 1, so only the steps show)."""
        return 0.1 + 0.8 * self.X[SHORT_IMAGES], (self.y[SHORT_IMAGES] + SHORT_SHIFT) % self.num_classes

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Trusted softmax probabilities ``(N, C)`` float64 of float32 pixels ``(N, 3, H, W)`` (may hold NaN)."""
        import torch

        with torch.no_grad(), OneThread():
            logits = self.base_model(torch.from_numpy(np.ascontiguousarray(images, np.float32))).double()
            return logits.softmax(dim=1).numpy()

    def gradients(self, images: np.ndarray, target: int, objective: str) -> np.ndarray:
        """Trusted float64 gradients ``(N, 3, H, W)`` of each image's ``objective`` of class ``target``:
        ``"probability"``, ``"logit"`` or ``"log_probability"`` (one thread, see :class:`~.._kit.OneThread`)."""
        import torch

        with OneThread():
            x = torch.from_numpy(np.ascontiguousarray(images, np.float32)).requires_grad_(True)
            logits = self.base_model(x)
            chosen = {"probability": lambda: logits.softmax(1)[:, target],
                      "logit": lambda: logits[:, target],
                      "log_probability": lambda: logits.log_softmax(1)[:, target]}[objective]()
            (grad,) = torch.autograd.grad(chosen.sum(), x)
        return grad.double().numpy()


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """The Context for ``device``, built once per process (nbgrader runs one hidden cell per check, each asking for
    it). Probes hand the student's code only copies of its model and inputs; nothing writes to it."""
    return Context(device)

