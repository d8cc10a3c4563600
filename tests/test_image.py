"""Image utilities: known answers, round trips, and that nothing mutates its input."""
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d

import hwlib
from hwlib.image import image_bounds


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(2, 16, 12, 3), dtype=np.uint8)


def test_preprocess_normalizes_known_pixel():
    """A pure-white and a pure-black pixel map to (1 - mean) / std and -mean / std."""
    img = np.zeros((4, 4, 3), np.uint8)
    img[0, 0] = 255
    x = hwlib.preprocess(img, size=None)
    assert x.shape == (1, 3, 4, 4) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0, :, 0, 0], (1 - hwlib.SQUEEZENET_MEAN) / hwlib.SQUEEZENET_STD, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 1, 1], -hwlib.SQUEEZENET_MEAN / hwlib.SQUEEZENET_STD, rtol=1e-6)


def test_preprocess_deprocess_round_trip(pixels):
    """deprocess(preprocess(img), should_rescale=False) gives back the same uint8 pixels."""
    x = hwlib.preprocess(pixels, size=None)
    back = hwlib.deprocess(x, should_rescale=False)
    assert back.shape == pixels.shape and back.dtype == np.uint8
    np.testing.assert_array_equal(back, pixels)
    assert hwlib.deprocess(x[:1], should_rescale=False).shape == pixels.shape[1:]  # batch of one: one image


def test_preprocess_resizes_shorter_side(pixels):
    """The shorter side becomes `size` and the aspect ratio is kept (as torchvision's Resize(size))."""
    x = hwlib.preprocess(pixels, size=24)
    assert x.shape == (2, 3, 32, 24)


def test_preprocess_accepts_pil_and_float(pixels):
    """PIL images and float arrays in [0, 1] give the same batch as uint8 arrays."""
    from PIL import Image

    ref = hwlib.preprocess(pixels[0], size=None)
    torch.testing.assert_close(hwlib.preprocess(Image.fromarray(pixels[0]), size=None), ref)
    torch.testing.assert_close(hwlib.preprocess(pixels[0] / 255.0, size=None), ref)


def test_deprocess_rescale_spans_full_range(pixels):
    """With should_rescale the displayed image uses the full 0..255 range."""
    out = hwlib.deprocess(hwlib.preprocess(pixels, size=None) * 0.1)
    assert out.min() == 0 and out.max() == 255


def test_rescale_constant_and_range():
    """rescale maps to [0, 1]; a constant tensor maps to zeros instead of NaN."""
    torch.testing.assert_close(hwlib.rescale(torch.tensor([2.0, 4.0, 3.0])), torch.tensor([0.0, 1.0, 0.5]))
    assert torch.equal(hwlib.rescale(torch.full((3,), 7.0)), torch.zeros(3))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5, 7.0])
def test_blur_matches_scipy(sigma):
    """blur_image equals scipy's gaussian_filter1d along H then W (reflect mode), even for kernels wider than
    the image."""
    x = torch.randn(2, 3, 9, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected = gaussian_filter1d(gaussian_filter1d(x.numpy(), sigma, axis=2), sigma, axis=3)
    np.testing.assert_allclose(hwlib.blur_image(x, sigma).numpy(), expected, atol=1e-12)


def test_blur_and_jitter_do_not_mutate():
    """blur_image and jitter return new tensors and leave their input alone."""
    x = torch.randn(1, 3, 8, 8)
    before = x.clone()
    hwlib.blur_image(x, 1.0)
    hwlib.jitter(x, 3, 2)
    assert torch.equal(x, before)


def test_jitter_known_answer_and_inverse():
    """jitter rolls right/down by (ox, oy) like CS231n's concatenation, and -ox, -oy undoes it."""
    x = torch.arange(2 * 5, dtype=torch.float32).view(1, 1, 2, 5)
    moved = hwlib.jitter(x, 2, 1)
    expected = torch.cat([x[..., -2:], x[..., :-2]], dim=3)
    expected = torch.cat([expected[..., -1:, :], expected[..., :-1, :]], dim=2)
    assert torch.equal(moved, expected)
    assert torch.equal(hwlib.jitter(moved, -2, -1), x)


def test_clamp_to_image_bounds():
    """clamp_to_image keeps values that correspond to pixels in [0, 1] per channel."""
    x = torch.randn(1, 3, 4, 4) * 10
    lo, hi = image_bounds(x)
    c = hwlib.clamp_to_image(x)
    assert (c >= lo - 1e-6).all() and (c <= hi + 1e-6).all()
    inside = (x >= lo) & (x <= hi)
    assert torch.equal(c[inside], x[inside])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((8, 8), np.uint8), "grayscale"),
    (np.zeros((8, 8, 1), np.uint8), "grayscale"),
    (np.zeros((3, 8, 8), np.uint8), "channels-first"),
    (np.zeros((8, 8, 4), np.uint8), r"\(H, W, 3\)"),
    (np.full((8, 8, 3), 2.0), r"\[0, 1\]"),
    (np.zeros((8, 8, 3), np.int32), "uint8"),
    (torch.zeros(1, 3, 8, 8), "already a tensor"),
])
def test_preprocess_rejects_bad_input(bad, match):
    """Bad images raise an error that names what was expected."""
    with pytest.raises((ValueError, TypeError), match=match):
        hwlib.preprocess(bad)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(1, 8, 8, 3), "channels-last"),
    (torch.zeros(1, 1, 8, 8), "grayscale"),
    (torch.zeros(3, 8, 8, 2), r"\(N, 3, H, W\)"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "uint8"),
    (np.zeros((1, 3, 8, 8), np.float32), "torch.Tensor"),
])
def test_deprocess_rejects_bad_input(bad, match):
    """deprocess names the expected (N, 3, H, W) float tensor."""
    with pytest.raises((ValueError, TypeError), match=match):
        hwlib.deprocess(bad)
