"""Adversarial training on handwritten digits (Goodfellow, Shlens and Szegedy 2015, "Explaining and Harnessing
Adversarial Examples", https://arxiv.org/abs/1412.6572, section 6): train on a mix of clean images and adversarial
images made on the fly by the attack the student wrote, and compare with ordinary training.

    >>> run = train_digit_classifier(train.images, train.labels, epochs=3, attack=fgsm, eps=0.2)
    >>> run.seconds, run.losses
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._validation import check_labels, describe
from .robustness_curves import Attack, check_epsilon, check_pixels


@contextlib.contextmanager
def _one_thread_on_cpu(device: torch.device):
    """Train small networks on one CPU thread: for the digit CNN a thread pool costs more than it saves (3 epochs
    on a shared 2-core machine: 1.9 s on one thread, 9.9 s on two). The previous setting is restored."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class TrainingRun:
    """A trained model (eval mode, weights frozen) and what training cost.

    losses: mean training loss per epoch; seconds: wall-clock time of the whole loop (attacks included)."""
    model: torch.nn.Module
    epochs: int
    seconds: float
    losses: list[float]
    eps: float
    adversarial_fraction: float


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}.")
    return value


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 5,
                           attack: Attack | None = None, eps: float = 0.0, adversarial_fraction: float = 0.5,
                           batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                           model: torch.nn.Module | None = None, progress: bool = True) -> TrainingRun:
    """Train a digit classifier, optionally on adversarial examples mixed into every batch.

    Each step minimizes ``(1 - a) * CE(model(x), y) + a * CE(model(x_adv), y)`` with ``a = adversarial_fraction``
    and ``x_adv = attack(x, y, model, eps)`` made against the current weights (``a = 0`` or no attack: ordinary
    training). Adam, shuffled batches from a seeded generator; nothing global is reseeded.

    Args:
        images: ``(N, 1, 28, 28)`` float in [0, 1] (e.g. ``hwlib.load_digits(split="train").images``).
        labels: ``(N,)`` int64 in 0..9.
        epochs: passes over the data.
        attack: ``attack(images, labels, model, eps) -> adversarial images`` (the notebook's ``fgsm``) or ``None``.
        eps: the attack's budget (pixel units; 0.2 is a common choice for digits).
        adversarial_fraction: weight ``a`` of the adversarial loss, in [0, 1].
        batch_size, lr, seed: the optimizer's batch size and learning rate, and the seed of the initial weights
            and of the batch order.
        model: the network to train (default: :func:`hwlib.digit_cnn` ``(seed)``, notebook 01's small CNN); it is
            trained in place, on the images' device.

    Returns:
        :class:`TrainingRun` with the trained model frozen in eval mode.
    """
    check_pixels(images, "images", channels=1)
    check_labels(labels, len(images), 10, "labels")
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    eps = check_epsilon(eps)
    if not 0.0 <= float(adversarial_fraction) <= 1.0:
        raise ValueError(f"adversarial_fraction: expected a number in [0, 1], got {adversarial_fraction!r}.")
    if attack is not None and not callable(attack):
        raise TypeError(f"attack: expected a function attack(images, labels, model, eps) or None, got "
                        f"{describe(attack)}.")
    a = float(adversarial_fraction) if attack is not None else 0.0
    if model is None:
        from .models.digits import digit_cnn

        model = digit_cnn(seed)
    elif not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module or None, got {describe(model)}.")
    model = model.to(images.device).train()
    for p in model.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    images, labels = images.detach(), labels.detach()
    start = time.perf_counter()
    with _one_thread_on_cpu(images.device):
        losses = _train(model, optimizer, generator, images, labels, epochs, batch_size, attack, eps, a, progress)
    seconds = time.perf_counter() - start
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return TrainingRun(model, epochs, seconds, losses, eps, a)


def _train(model, optimizer, generator, images, labels, epochs, batch_size, attack, eps, a, progress) -> list[float]:
    """The loop of :func:`train_digit_classifier`; returns the mean loss of every epoch."""
    from tqdm.auto import tqdm

    losses = []
    for _ in tqdm(range(epochs), desc="adversarial training" if a else "training", disable=not progress):
        order = torch.randperm(len(images), generator=generator).to(images.device)
        total = 0.0
        for i in range(0, len(images), batch_size):
            x, y = images[order[i:i + batch_size]], labels[order[i:i + batch_size]]
            loss = F.cross_entropy(model(x), y) if a < 1 else 0.0
            if a > 0:
                x_adv = attack(x, y, model, eps)
                if not isinstance(x_adv, torch.Tensor) or x_adv.shape != x.shape:
                    raise ValueError(f"the attack must return a tensor shaped like its input {tuple(x.shape)}, got "
                                     f"{describe(x_adv)}.")
                model.train()  # in case the attack switched to eval mode
                loss = (1 - a) * loss + a * F.cross_entropy(model(x_adv.detach()), y)
            optimizer.zero_grad(set_to_none=True)  # also drops what the attack's backward left in .grad
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(y)
        losses.append(total / len(images))
    return losses
