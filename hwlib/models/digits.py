"""The two digit classifiers of notebook 01, untrained (the notebook trains them in seconds).

Both map ``(N, 1, 28, 28)`` float images in [0, 1] to ``(N, 10)`` logits (unnormalized class scores):

- :func:`digit_linear` — the seed article's model, one ``Linear(28*28, 10)`` (without the article's ReLU on the
  logits, which would clip every negative score to 0 and zero its gradient);
- :func:`digit_cnn` — a small CNN (two strided convolutions, about 20,000 weights) that reaches >= 95% validation
  accuracy on the offline digits in a few seconds of CPU.

They are plain ``torch.nn.Sequential`` stacks, so ``model[0]`` is the first layer.
"""
from __future__ import annotations

import torch
from torch import nn

NUM_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)


def _check_seed(seed) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed: expected an int (or None for the global random state), got {type(seed).__name__}.")
    return seed


def _build(make, seed: int | None) -> nn.Sequential:
    """``make()`` with its weights drawn from ``torch.manual_seed(seed)``, leaving the global random state alone."""
    if seed is None:
        return make()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def digit_linear(seed: int | None = 0) -> nn.Sequential:
    """``Flatten -> Linear(28*28, 10)``: ``(N, 1, 28, 28)`` -> ``(N, 10)`` logits; weights seeded by ``seed``.

    The logit of class ``c`` is ``w_c . x + b_c``, so its gradient with respect to the image is the weight row
    ``w_c`` reshaped to ``(1, 28, 28)``, whatever the image.
    """
    _check_seed(seed)
    return _build(lambda: nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, NUM_CLASSES)), seed)


def digit_cnn(seed: int | None = 0) -> nn.Sequential:
    """A small CNN: ``(N, 1, 28, 28)`` -> ``(N, 10)`` logits; weights seeded by ``seed``.

    ``Conv(1->16, 5x5, stride 2) -> ReLU -> Conv(16->32, 3x3, stride 2) -> ReLU -> Flatten -> Linear(32*7*7, 10)``
    (28x28 -> 14x14 -> 7x7). No dropout or batch norm, so train and eval mode compute the same function.
    """
    _check_seed(seed)
    return _build(lambda: nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5, stride=2, padding=2),   # N, 16, 14, 14
        nn.ReLU(),
        nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1),  # N, 32, 7, 7
        nn.ReLU(),
        nn.Flatten(),                                           # N, 1568
        nn.Linear(32 * 7 * 7, NUM_CLASSES),                     # N, 10
    ), seed)
