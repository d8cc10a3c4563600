"""Figures whose images differ in range give each image its own colour scale, and text is drawn at >= 100 dpi
(issue 20): the weakest map of a row is not black on a scale set by the strongest."""
from __future__ import annotations

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from hwlib import plotting, plotting_explanations  # noqa: E402


def test_explanation_heat_and_signed_maps_each_use_their_own_scale():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 16, 16, generator=generator)
    heat = torch.stack([torch.rand(16, 16, generator=generator), 1e-3 * torch.rand(16, 16, generator=generator)])
    signed = torch.stack([torch.randn(16, 16, generator=generator), 1e-3 * torch.randn(16, 16, generator=generator)])
    fig = plotting_explanations.show_explanations(images, [("heat", heat, "heat"), ("signed", signed, "signed")],
                                                  ["a", "b"])
    try:
        grid = np.array([ax for ax in fig.axes if ax.images]).reshape(3, 2)
        for row in grid[1:]:
            fills = [np.abs(ax.images[0].get_array()).max() / max(np.abs(ax.images[0].get_clim())) for ax in row]
            assert min(fills) >= 0.95, fills               # each map fills its own colour scale: the weak one too
        assert "max 0.001" in grid[1, 1].get_xlabel() or "max 0.00" in grid[1, 1].get_xlabel()
        assert fig.dpi >= 100
    finally:
        plt.close(fig)


def test_saliency_maps_each_use_their_own_scale():
    images = (np.random.default_rng(0).random((2, 8, 8, 3)) * 255).astype(np.uint8)
    saliency = np.stack([np.random.default_rng(1).random((8, 8)), 1e-3 * np.random.default_rng(2).random((8, 8))])
    fig = plotting.show_saliency_maps(images, saliency, ["a", "b"])
    try:
        maps = [ax.images[0] for ax in fig.axes if ax.images][2:]
        assert [m.get_clim()[1] for m in maps] == [saliency[0].max(), saliency[1].max()]
        assert fig.dpi >= 100
    finally:
        plt.close(fig)
