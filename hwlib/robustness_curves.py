"""Measurements around an attack that a student writes (notebook 03): how often it succeeds as the budget grows,
which classes are hard to fool, and what adversarial training buys.

Every function here takes the attack as an argument, ``attack(images, labels, model, eps) -> adversarial images``
(the signature of the notebook's ``fgsm``; wrap a targeted attack with ``functools.partial`` or a lambda), and
never contains an attack itself. Images are pixels in [0, 1]; see :class:`hwlib.NormalizedClassifier`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ._validation import check_image_batch, check_labels, describe

Attack = Callable[[torch.Tensor, torch.Tensor, torch.nn.Module, float], torch.Tensor]
#: Pixel values this far outside [0, 1] still count as inside (float rounding of ``x + delta``).
RANGE_SLACK = 1e-6


def check_epsilon(eps, name: str = "eps") -> float:
    """``eps`` as a float; ``ValueError`` unless it is a finite number >= 0."""
    if isinstance(eps, torch.Tensor) and eps.numel() == 1:
        eps = eps.item()
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number >= 0 (a budget in pixel units, e.g. 8/255), got {describe(eps)}.")
    if not math.isfinite(float(eps)) or eps < 0:
        raise ValueError(f"{name}: expected a finite number >= 0 (a budget in pixel units, e.g. 8/255), got {eps!r}.")
    return float(eps)


def check_pixels(x, name: str = "images", channels: int | None = None) -> torch.Tensor:
    """Check that ``x`` is a float batch ``(N, C, H, W)`` with every value in [0, 1]; returns it unchanged."""
    if isinstance(x, torch.Tensor) and x.dim() == 4 and channels is None:
        channels = int(x.shape[1])
    check_image_batch(x, name, channels=3 if channels is None else channels)
    if x.numel():
        low, high = (float(v) for v in torch.aminmax(x.detach()))
        if not (low >= -RANGE_SLACK and high <= 1 + RANGE_SLACK):
            raise ValueError(f"{name}: expected pixel values in [0, 1], got values from {low:.4g} to {high:.4g} "
                             "(divide uint8 pixels by 255; clamp adversarial images with .clamp(0, 1)).")
    return x


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """The predicted classes ``(N,)`` int64 of ``images`` ``(N, C, H, W)``, in batches, without gradients."""
    out = [model(images[i:i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64, device=images.device)


def _num_classes(model: torch.nn.Module, images: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(images[:1]).shape[1])


def _run_attack(attack: Attack, model, images: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    """``attack(images, labels, model, eps)``, checked: same shape, finite, within ``eps`` and [0, 1]."""
    adversarial = attack(images, labels, model, eps)
    if not isinstance(adversarial, torch.Tensor) or adversarial.shape != images.shape:
        raise ValueError(f"the attack must return a tensor shaped like its input {tuple(images.shape)}, got "
                         f"{describe(adversarial)}.")
    adversarial = adversarial.detach()
    if not torch.isfinite(adversarial).all():
        raise ValueError("the attack returned NaN or infinite pixel values.")
    change = float((adversarial - images).abs().max()) if images.numel() else 0.0
    if change > eps + RANGE_SLACK:
        raise ValueError(f"the attack changed a pixel by {change:.4g} with a budget of eps = {eps:.4g}: project "
                         "back into the eps-ball.")
    return check_pixels(adversarial, "the attack's output")


@dataclass(frozen=True)
class RobustnessCurve:
    """What one attack does at each budget.

    epsilons ``(E,)``; predictions ``(E, N)`` int64: the model's class for every attacked image; labels ``(N,)``;
    clean_predictions ``(N,)``; targets ``(N,)`` for a targeted attack, else ``None``."""
    epsilons: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    clean_predictions: np.ndarray
    targets: np.ndarray | None = None

    @property
    def clean_accuracy(self) -> float:
        return float((self.clean_predictions == self.labels).mean())

    @property
    def robust_accuracy(self) -> np.ndarray:
        """``(E,)`` fraction of images still classified correctly after the attack."""
        return (self.predictions == self.labels[None]).mean(axis=1)

    @property
    def attack_success(self) -> np.ndarray:
        """``(E,)`` untargeted: fraction of the correctly classified images that the attack makes wrong;
        targeted: fraction of images classified as their target."""
        if self.targets is not None:
            return (self.predictions == self.targets[None]).mean(axis=1)
        correct = self.clean_predictions == self.labels
        if not correct.any():
            return np.zeros(len(self.epsilons))
        return (self.predictions[:, correct] != self.labels[None, correct]).mean(axis=1)

    def table(self) -> str:
        """One line per budget: eps (also in 1/255 units), robust accuracy, attack success."""
        lines = [f"{'eps':>8} {'x 255':>6} {'robust acc':>11} {'success':>8}"]
        for e, r, s in zip(self.epsilons, self.robust_accuracy, self.attack_success):
            lines.append(f"{e:8.4f} {e * 255:6.1f} {r:11.1%} {s:8.1%}")
        return "\n".join(lines)


def robustness_curve(attack: Attack, model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     epsilons: Sequence[float], targets: torch.Tensor | None = None, batch_size: int = 64,
                     progress: bool = True) -> RobustnessCurve:
    """Run ``attack`` at every budget in ``epsilons`` and record the model's predictions.

    Args:
        attack: ``attack(images, labels, model, eps) -> adversarial images`` (e.g. the notebook's ``fgsm``). For a
            targeted attack pass ``targets``: the attack then receives the targets instead of the labels.
        model: a classifier of pixels in [0, 1] (e.g. from :func:`hwlib.load_pixel_classifier`).
        images: ``(N, C, H, W)`` float in [0, 1]; labels: ``(N,)`` int64 true classes.
        epsilons: budgets >= 0 (L-infinity, pixel units: 8/255 is 8 grey levels).
        targets: ``(N,)`` int64 target classes for a targeted attack, or ``None``.
        batch_size: images per attack call.

    Returns:
        :class:`RobustnessCurve` (``.robust_accuracy``, ``.attack_success``, ``.table()``).
    """
    from tqdm.auto import tqdm

    if not callable(attack):
        raise TypeError(f"attack: expected a function attack(images, labels, model, eps), got {describe(attack)}.")
    check_pixels(images, "images")
    n, classes = len(images), _num_classes(model, images)
    check_labels(labels, n, classes, "labels")
    if targets is not None:
        check_labels(targets, n, classes, "targets")
    epsilons = [check_epsilon(e, "epsilons[i]") for e in epsilons]
    if not epsilons:
        raise ValueError("epsilons: expected at least one budget.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}.")
    images = images.detach()
    passed = labels if targets is None else targets
    predictions = np.zeros((len(epsilons), n), dtype=np.int64)
    for e, eps in enumerate(tqdm(epsilons, desc="attack budgets", disable=not progress)):
        for i in range(0, n, batch_size):
            adversarial = _run_attack(attack, model, images[i:i + batch_size], passed[i:i + batch_size], eps)
            predictions[e, i:i + batch_size] = predict(model, adversarial, batch_size).cpu().numpy()
    return RobustnessCurve(np.asarray(epsilons), predictions, labels.cpu().numpy(),
                           predict(model, images, batch_size).cpu().numpy(),
                           None if targets is None else targets.cpu().numpy())


@dataclass(frozen=True)
class ClassDifficulty:
    """How hard each class is to attack (the seed's "you cannot fool the dog", as numbers).

    class_names ``(C,)``; counts ``(C,)`` correctly classified images per class; median_epsilon ``(C,)`` the median
    over those images of the smallest budget that fooled them (``inf`` when more than half were never fooled,
    ``nan`` for a class without images); fooled ``(C, E)`` fraction of the class's images fooled at each budget."""
    class_names: tuple[str, ...]
    counts: np.ndarray
    median_epsilon: np.ndarray
    fooled: np.ndarray
    epsilons: np.ndarray

    def table(self, top: int | None = None) -> str:
        """Classes from hardest to easiest to fool (``top`` of them, default all that have images)."""
        order = [c for c in np.argsort(-np.nan_to_num(self.median_epsilon, nan=-1.0), kind="stable")
                 if self.counts[c] > 0][:top]
        width = max([5] + [len(self.class_names[c]) for c in order])
        lines = [f"{'class':<{width}} {'images':>6} {'median eps':>10} {'(x 255)':>7} {'fooled at max eps':>17}"]
        for c in order:
            med = self.median_epsilon[c]
            eps = ("never", "") if np.isinf(med) else (f"{med:.4f}", f"{med * 255:.1f}")
            lines.append(f"{self.class_names[c]:<{width}} {self.counts[c]:6d} {eps[0]:>10} {eps[1]:>7} "
                         f"{self.fooled[c, -1]:17.0%}")
        return "\n".join(lines)


def class_difficulty(curve: RobustnessCurve, class_names: Sequence[str]) -> ClassDifficulty:
    """Per-class difficulty from an untargeted :func:`robustness_curve` (no new attack is run).

    Only images the model classifies correctly without attack count. An image's difficulty is the smallest
    budget of the curve at which the attack changed its class (``inf`` if none did)."""
    if curve.targets is not None:
        raise ValueError("class_difficulty: expected an untargeted curve (robustness_curve without targets).")
    names = tuple(class_names)
    if curve.labels.size and int(curve.labels.max()) >= len(names):
        raise ValueError(f"class_difficulty: labels go up to {int(curve.labels.max())} but only {len(names)} class "
                         "names were given.")
    order = np.argsort(curve.epsilons, kind="stable")
    eps, fooled = curve.epsilons[order], (curve.predictions[order] != curve.labels[None])  # (E, N)
    first = np.where(fooled.any(axis=0), eps[fooled.argmax(axis=0)], np.inf)                 # (N,)
    correct = curve.clean_predictions == curve.labels
    counts = np.zeros(len(names), dtype=np.int64)
    median = np.full(len(names), np.nan)
    fooled_by_class = np.zeros((len(names), len(eps)))
    for c in range(len(names)):
        members = correct & (curve.labels == c)
        counts[c] = int(members.sum())
        if counts[c]:
            median[c] = float(np.sort(first[members])[(counts[c] - 1) // 2])  # lower median: inf stays inf
            fooled_by_class[c] = fooled[:, members].mean(axis=1)
    return ClassDifficulty(names, counts, median, fooled_by_class, eps)
