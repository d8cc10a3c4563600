"""Notebook 02's model and inputs (:class:`Context`, with its trusted computations) and the constants its probes
and verdicts share."""
from __future__ import annotations

import copy
import functools
import threading

import numpy as np

from .._kit import ModelContext, OneThread

NUM_IMAGES = 9                     # offline sample images in the context
SALIENCY_BATCH = slice(0, 4)       # images of the batched saliency probe
SALIENCY_SINGLE = slice(4, 5)      # the one-image probe
# (image index, target class) of the fooling probe. Chosen so that the reference path is stable (float64 and
# float32 paths end within 1% of each other) and every decision on it has a clear margin: 2, 14 and 2 steps.
# tests/autograder/test_checks_network_visualization.py re-checks this for the shipped model.
FOOLING_CASES = ((8, 6), (4, 1), (3, 9))
FOOLING_LEARNING_RATE = 1.0        # make_fooling_image's learning_rate
FOOLING_TIE = 1e-3                 # a target score this close to the top counts (GPU and CPU round differently)
FOOLING_PATH_TOLERANCE = 0.15      # ||F - F_ref|| / ||F_ref - X|| of an image on the normalized-ascent path
FOOLING_STEP_COSINE = 0.99         # a recorded step's cosine with the trusted gradient of s_t at its start
FOOLING_STEP_LENGTH = 0.01         # ... and its length's relative deviation from learning_rate
FOOLING_RECORD_LIMIT = 48          # distinct images recorded per case (the reference needs at most 15)
FOOLING_HUGE = 1e4                 # |value| of a returned image that is absurd (normalized pixels are within +-3)
STEP_SEED, STEP_LEARNING_RATE = 0, 0.8   # not 1: a step that ignores learning_rate must not pass
STEP_L2_SHARE = 0.5                # l2_reg is chosen so the L2 term's gradient is half the score's (see Context)


class Context(ModelContext):
    """The model and inputs of notebook 02's probes. Inputs live on the CPU; probes move them to ``device``.

    X: (9, 3, 128, 128) float32 normalized sample images; y: (9,) int64 labels. The trusted helpers (``scores``,
    ``gradients``, ``class_step``) run on the CPU copy of the model, in the grading process."""

    def __init__(self, device: str = "cpu"):
        import torch

        import hwlib

        loaded = hwlib.load_squeezenet("offline", device="cpu")
        samples = hwlib.load_sample_images(NUM_IMAGES, source="offline")
        self.device = torch.device(device)
        self.base_model = loaded.model
        self.class_names = loaded.class_names
        self.X = hwlib.preprocess(samples.images, size=samples.image_size)
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)
        self.step_l2_reg = self._balanced_l2_reg()
        self._memo: dict = {}
        self._memo_lock = threading.Lock()

    def _balanced_l2_reg(self) -> float:
        """The l2_reg of the update-step probe: ``||grad 2 l2_reg I|| = STEP_L2_SHARE * ||grad s_y(I)||`` at the
        start image, rounded to 2 significant digits, so that a missing or flipped L2 term shows for any model."""
        import torch

        img = self.step_start().double().requires_grad_(True)
        score = copy.deepcopy(self.base_model).double()(img)[0, int(self.y[0])]
        (grad,) = torch.autograd.grad(score, img)
        return float(f"{STEP_L2_SHARE * float(grad.norm()) / (2 * float(img.detach().norm())):.2g}")

    def fresh_model(self):
        """A private copy of the frozen model on ``device`` (so one probe cannot spoil the next)."""
        return self.private_model(self.base_model)

    def step_start(self):
        """The class-visualization start image ``(1, 3, H, W)`` (seeded noise, CPU)."""
        import torch

        gen = torch.Generator().manual_seed(STEP_SEED)
        return torch.randn(1, 3, *self.X.shape[2:], generator=gen)

    def memo(self, key, compute):
        """``compute()``, remembered under ``key`` (a few entries: analyses shared by the checks of one probe; the
        grader may verify several submissions in threads at once)."""
        value = self._memo.get(key)
        if value is None:
            value = compute()
            with self._memo_lock:
                if len(self._memo) > 16:
                    self._memo.clear()
                self._memo[key] = value
        return value

    # ------------------------------------------------------------------------------------- trusted computations
    def scores(self, images: np.ndarray) -> np.ndarray:
        """Trusted class scores ``(N, C)`` float64 of float32 images ``(N, 3, H, W)`` (may hold NaN/inf)."""
        import torch

        with torch.no_grad(), OneThread():
            return self.base_model(torch.from_numpy(np.ascontiguousarray(images, np.float32))).double().numpy()

    def gradients(self, images: np.ndarray, targets, objective: str = "score") -> tuple[np.ndarray, np.ndarray]:
        """``(scores (N, C), gradients (N, 3, H, W))`` float64 of each image's ``objective`` for its target:
        ``"score"`` is the raw score s_t, ``"log_softmax"`` is s_t - logsumexp(s) (minus the cross-entropy loss;
        the softmax probability has the same direction). Batched, 8 images per backward pass."""
        images = np.ascontiguousarray(images, np.float32)
        targets = np.broadcast_to(np.asarray(targets, dtype=np.int64), (len(images),))
        scores, grads = [], []
        with OneThread():
            for start in range(0, len(images), 8):              # 8 images at a time: bounded memory
                out, grad = self._gradients(images[start:start + 8], targets[start:start + 8], objective)
                scores.append(out)
                grads.append(grad)
        return np.concatenate(scores), np.concatenate(grads)

    def _gradients(self, images: np.ndarray, targets: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.enable_grad():
            x = torch.from_numpy(images).requires_grad_(True)
            out = self.base_model(x)
            chosen = out.gather(1, torch.from_numpy(targets.copy()).view(-1, 1))[:, 0]
            if objective == "log_softmax":
                chosen = chosen - torch.logsumexp(out, dim=1)
            (grad,) = torch.autograd.grad(chosen.sum(), x)
        return out.detach().double().numpy(), grad.double().numpy()

    def class_step(self, img: np.ndarray) -> np.ndarray:
        """The correct class-visualization step at ``img`` ``(1, 3, H, W)``: ``learning_rate * grad(s_y(I) -
        l2_reg ||I||^2)`` float64 (may hold NaN/inf when ``img`` is absurd)."""
        _, grad = self.gradients(img, int(self.y[0]))
        return STEP_LEARNING_RATE * (grad - 2 * self.step_l2_reg * img.astype(np.float64))

@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """The Context for ``device``, built once per process (nbgrader runs one hidden cell per check, each asking for
    it). Probes hand the student's code only copies of its model and inputs; nothing writes to it but the memo of
    trusted analyses (keyed by a digest of what they analyse)."""
    return Context(device)
