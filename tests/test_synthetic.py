"""The synthetic shapes dataset and the offline model trained on it."""
import numpy as np
import pytest
import torch
import torchvision

from hwlib._paths import data_dir
from hwlib.image import preprocess
from hwlib.models.squeezenet import OFFLINE_WEIGHTS
from hwlib.datasets.shapes import (CLASS_NAMES, IMAGE_SIZE, SAMPLE_SEED, SyntheticImages, make_synthetic_dataset,
                             sample_images)
from hwlib_training.squeezenet import HELDOUT_SEED_OFFSET, fold_batchnorm, insert_batchnorm


@pytest.fixture(scope="module")
def data():
    return make_synthetic_dataset(60, seed=7, size=64)


def test_shapes_and_dtypes(data):
    """Images (N, H, W, 3) uint8, labels (N,) int64 within range, masks (N, H, W) bool, class names attached."""
    assert isinstance(data, SyntheticImages) and len(data) == 60
    assert data.images.shape == (60, 64, 64, 3) and data.images.dtype == np.uint8
    assert data.labels.shape == (60,) and data.labels.dtype == np.int64
    assert data.labels.min() >= 0 and data.labels.max() < len(CLASS_NAMES)
    assert data.masks.shape == (60, 64, 64) and data.masks.dtype == bool
    assert data.class_names == CLASS_NAMES and len(CLASS_NAMES) >= 10 and len(set(CLASS_NAMES)) == len(CLASS_NAMES)
    assert make_synthetic_dataset(2, seed=0).images.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3)


def test_same_seed_same_bytes_other_seed_other_images(data):
    """Generation is a pure function of (n, seed, size)."""
    again = make_synthetic_dataset(60, seed=7, size=64)
    for a, b in ((data.images, again.images), (data.labels, again.labels), (data.masks, again.masks)):
        np.testing.assert_array_equal(a, b)
    other = make_synthetic_dataset(60, seed=8, size=64)
    assert not np.array_equal(data.images, other.images)


def test_classes_are_balanced():
    """Every class gets n // K or n // K + 1 images, in shuffled order."""
    k = len(CLASS_NAMES)
    labels = make_synthetic_dataset(3 * k + 4, seed=1, size=32).labels
    counts = np.bincount(labels, minlength=k)
    assert counts.min() >= 3 and counts.max() <= 4 and counts.sum() == 3 * k + 4
    assert not np.array_equal(labels[:k], np.arange(k))


def test_masks_cover_part_of_each_image(data):
    """Each object is present (covers 1.5-40% of the image) and the background too."""
    area = data.masks.mean(axis=(1, 2))
    assert area.min() > 0.015 and area.max() < 0.4


def test_object_is_visible_against_background(data):
    """The object's mean colour differs clearly from the mean colour of the background next to it."""
    from scipy.ndimage import binary_dilation

    img = data.images.astype(np.float64) / 255
    for image, mask in zip(img, data.masks):
        inner = mask & ~binary_dilation(~mask)  # object, away from the anti-aliased edge
        ring = binary_dilation(mask, iterations=5) & ~binary_dilation(mask, iterations=2)
        assert np.linalg.norm(image[inner].mean(0) - image[ring].mean(0)) > 0.15


def test_sample_images_are_fixed_and_nested():
    """sample_images(k) is the first k of sample_images(25); its seed is its own."""
    full, five = sample_images(), sample_images(5)
    assert len(full) == 25 and full.images.shape == (25, IMAGE_SIZE, IMAGE_SIZE, 3)
    np.testing.assert_array_equal(five.images, full.images[:5])
    np.testing.assert_array_equal(five.labels, full.labels[:5])
    assert len(set(full.labels.tolist())) == len(CLASS_NAMES)  # every class shown at least once
    assert SAMPLE_SEED not in (0, HELDOUT_SEED_OFFSET)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0, "seed": 0}, "n: expected an int >= 1, got 0"),
    ({"n": 2.0, "seed": 0}, "n: expected an int >= 1, got 2.0"),
    ({"n": 2, "seed": 1.5}, "seed: expected an int >= 0"),
    ({"n": 2, "seed": True}, "seed: expected an int >= 0"),
    ({"n": 2, "seed": -1}, "seed: expected an int >= 0, got -1"),
    ({"n": 2, "seed": 0, "size": 16}, "size: expected an int >= 32, got 16"),
])
def test_argument_errors_say_what_was_expected(kwargs, message):
    """Bad arguments raise ValueError naming the argument, the expectation and the value given."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make_synthetic_dataset(**kwargs)
    with pytest.raises(ValueError, match="sample_images: n"):
        sample_images(0)


def test_batchnorm_folds_exactly_into_squeezenet():
    """The training-time BatchNorm folds away: same outputs, and torchvision's plain squeezenet1_1 loads it."""
    torch.manual_seed(0)
    model = torchvision.models.squeezenet1_1(weights=None, num_classes=len(CLASS_NAMES))
    model = insert_batchnorm(model, skip=model.classifier[1])
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.bias.data.uniform_(-1, 1)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model.eval()(x)
        plain = torchvision.models.squeezenet1_1(weights=None, num_classes=len(CLASS_NAMES))
        plain.load_state_dict(fold_batchnorm(model).state_dict(), strict=True)
        torch.testing.assert_close(plain.eval()(x), before, rtol=1e-4, atol=1e-4)


def test_shipped_model_recognises_heldout_shapes():
    """The shipped float16 weights, loaded as float32, classify 100 unseen images with >= 90% accuracy."""
    state = torch.load(data_dir() / OFFLINE_WEIGHTS, map_location="cpu", weights_only=True)
    model = torchvision.models.squeezenet1_1(weights=None, num_classes=len(CLASS_NAMES))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    heldout = make_synthetic_dataset(100, seed=123_456_789)
    with torch.no_grad():
        predicted = model.eval()(preprocess(heldout.images, size=None)).argmax(1).numpy()
    assert (predicted == heldout.labels).mean() >= 0.9


def test_object_colour_carries_no_label():
    """Only the shape tells the class: every class's mean object colour is close to the overall mean."""
    data = make_synthetic_dataset(500, seed=11, size=32)
    colour = np.array([im[m].mean(0) for im, m in zip(data.images.astype(np.float64) / 255, data.masks)])
    per_class = np.array([colour[data.labels == k].mean(0) for k in range(len(CLASS_NAMES))])
    assert np.abs(per_class - colour.mean(0)).max() < 0.15
