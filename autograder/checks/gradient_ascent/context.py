"""Notebook 01's models and inputs (:class:`Context`) and the constants its probes and verdicts share."""
from __future__ import annotations

import copy
import functools

import numpy as np

from .._kit import ModelContext

NUM_CLASSES = 10
CNN_SEED = 0
BATCH = 6                          # images of the batched gradient probe: the first validation digit of classes 0..5
TARGET_SHIFT = 3                   # target = label + 3 (mod 10), moved on when it is the model's prediction
RGB_SHAPE, RGB_CLASSES, RGB_SEED = (3, 3, 32, 32), 5, 1
ASCENT_CLASS, ASCENT_TARGET = 5, 8  # "what would make this 5 look like an 8?"
ASCENT_STEPS, ASCENT_STEP_SIZE = 6, 0.5
PROBABILITY_TOL = 1e-4


def _rgb_model():
    """A seeded CNN for ``(N, 3, 32, 32)`` images and 5 classes (no batch norm: images stay independent)."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RGB_SEED)
        return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
                             nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, RGB_CLASSES))


class Context(ModelContext):
    """The models and inputs of notebook 01's probes. Inputs live on the CPU; probes move them to ``device``.

    X: (6, 1, 28, 28) float32 validation digits 0..5; targets: (6,) int64, never the model's prediction;
    rgb_X: (3, 3, 32, 32) seeded noise with rgb_targets (3,); ascent_image: (1, 1, 28, 28) a validation 5."""

    def __init__(self, device: str = "cpu"):
        import torch

        from hwlib.datasets.digits import load_digits
        from hwlib.models.digits import digit_cnn

        val = load_digits("offline", "val")
        first = [int((val.labels == c).nonzero()[0]) for c in range(NUM_CLASSES)]
        self.device = torch.device(device)
        self.base_model = digit_cnn(seed=CNN_SEED).eval()
        self.rgb_model = _rgb_model().eval()
        self.X = val.images[first[:BATCH]].clone()
        with torch.no_grad():
            predicted = self.base_model(self.X).argmax(dim=1)
        targets = (val.labels[first[:BATCH]] + TARGET_SHIFT) % NUM_CLASSES
        self.targets = torch.where(targets == predicted, (targets + 1) % NUM_CLASSES, targets)
        gen = torch.Generator().manual_seed(RGB_SEED)
        self.rgb_X = torch.rand(RGB_SHAPE, generator=gen)
        with torch.no_grad():
            rgb_predicted = self.rgb_model(self.rgb_X).argmax(dim=1)
        rgb_targets = torch.tensor([4, 0, 2])
        self.rgb_targets = torch.where(rgb_targets == rgb_predicted, (rgb_targets + 1) % RGB_CLASSES, rgb_targets)
        self.ascent_image = val.images[first[ASCENT_CLASS]:first[ASCENT_CLASS] + 1].clone()
        self.ascent_target = ASCENT_TARGET
        self._alternatives: dict[str, dict[str, np.ndarray]] = {}

    def fresh_model(self, rgb: bool = False):
        """A private copy on ``device`` whose parameters require gradients and have none (so one probe cannot spoil
        the next, and a ``.backward()`` shows)."""
        return self.private_model(self.rgb_model if rgb else self.base_model, requires_grad=True)

    def inputs(self, which: str):
        """``(model, images, targets)`` on the CPU for the probe ``which`` ("batch", "single" or "rgb")."""
        if which == "rgb":
            return self.rgb_model, self.rgb_X, self.rgb_targets
        n = 1 if which == "single" else BATCH
        return self.base_model, self.X[:n], self.targets[:n]

    def alternatives(self, which: str) -> dict[str, np.ndarray]:
        """Trusted gradients of the known mistakes (for hints), ``(N, C, H, W)`` float64 each."""
        if which not in self._alternatives:
            import torch

            model, X, t = self.inputs(which)
            model = copy.deepcopy(model).double()
            x = X.double().requires_grad_(True)
            logits = model(x)
            n = len(t)

            def grad(objective):
                (g,) = torch.autograd.grad(objective, x, retain_graph=True)
                return g.detach().numpy()

            probs = logits.softmax(dim=1)
            loss = torch.nn.functional.cross_entropy(logits, t, reduction="sum")
            own = logits.gather(1, t.view(-1, 1)).sum()
            self._alternatives[which] = {
                "reference": grad(own),
                "predicted": grad(logits.gather(1, logits.argmax(1, keepdim=True)).sum()),
                "probability": grad(probs.gather(1, t.view(-1, 1)).sum()),
                "all_logits": grad(logits.sum()),
                "cross": grad(logits[:, t].sum()),
                "mean": grad(own / n),
                "negative": grad(-own),
                "loss": grad(loss),
                "mean_loss": grad(loss / n),
            }
        return self._alternatives[which]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Trusted softmax probabilities ``(K, 10)`` of float32 images ``(K, 1, 28, 28)`` (CPU, float64)."""
        import torch

        if getattr(self, "_model64", None) is None:
            self._model64 = copy.deepcopy(self.base_model).double()
        with torch.no_grad():
            return self._model64(torch.from_numpy(images).double()).softmax(dim=1).numpy()


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """One context per device and process (nbgrader runs one hidden cell per check, each asking for it)."""
    return Context(device)
