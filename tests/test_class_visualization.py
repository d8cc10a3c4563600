"""The loop around the student's update step, and the plots: driven with a tiny model, no weights needed."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import hwlib
from hwlib import plotting


def tiny_model(num_classes=4):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, num_classes))
    return model.eval().requires_grad_(False)


def ascent_step(img, model, target_y, l2_reg, learning_rate):
    (grad,) = torch.autograd.grad(model(img)[0, target_y] - l2_reg * img.pow(2).sum(), img)
    with torch.no_grad():
        img += learning_rate * grad


def test_loop_raises_target_score_and_keeps_valid_pixels():
    """Ascent steps raise the target score; the result stays inside the valid pixel range; snapshots as asked."""
    model = tiny_model()
    start, _ = hwlib.create_class_visualization(2, model, lambda *a: None, image_size=16, num_iterations=5,
                                                progress=False)
    img, snaps = hwlib.create_class_visualization(2, model, ascent_step, image_size=16, num_iterations=20,
                                                  learning_rate=1.0, snapshot_every=5, max_jitter=2, progress=False)
    assert model(img)[0, 2] > model(start)[0, 2]
    lo, hi = hwlib.image.image_bounds(img)
    assert ((img >= lo - 1e-6) & (img <= hi + 1e-6)).all() and not img.requires_grad
    assert [t for t, _ in snaps] == [1, 5, 10, 15, 20]
    assert all(s.shape == (16, 16, 3) and s.dtype == np.uint8 for _, s in snaps)


def test_loop_is_deterministic_given_seed():
    """Same seed, same image (jitter and start are seeded)."""
    model = tiny_model()
    a, _ = hwlib.create_class_visualization(1, model, ascent_step, image_size=12, num_iterations=6, seed=3,
                                            progress=False)
    b, _ = hwlib.create_class_visualization(1, model, ascent_step, image_size=12, num_iterations=6, seed=3,
                                            progress=False)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs, match", [({"num_iterations": 0}, "num_iterations"),
                                           ({"max_jitter": -1}, "max_jitter"),
                                           ({"image_size": 2.5}, "image_size")])
def test_loop_rejects_bad_arguments(kwargs, match):
    """Bad loop settings are named in the error."""
    with pytest.raises(ValueError, match=match):
        hwlib.create_class_visualization(0, tiny_model(), ascent_step, progress=False, **kwargs)


def test_plots_have_titles_and_colorbars():
    """Each figure is returned (not shown) with titles; each saliency map has its own scale, its top in the title, and
    difference plots carry a colour bar."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    fig = plotting.show_saliency_maps(images, torch.rand(3, 8, 8), ["a", "b", "c"], masks=np.ones((3, 8, 8), bool))
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"] and len(fig.axes) == 6
    assert all(ax.get_title().startswith("max ") for ax in fig.axes[3:]), "each map says its own scale's top"
    fig = plotting.show_fooling_image(images[0], images[1], "cat", "dog")
    assert "cat" in fig.axes[0].get_title() and len(fig.axes) == 5
    fig = plotting.show_class_visualization_progress([(1, images[0]), (10, images[1])], "star", 10)
    assert fig.axes[1].get_title() == "iteration 10/10" and "star" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="N titles"):
        plotting.show_saliency_maps(images, torch.rand(3, 8, 8), ["a"])
