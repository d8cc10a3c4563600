"""The synthetic dataset behind offline mode: deterministic, balanced, with honest masks and clear errors."""
import numpy as np
import pytest

from hwlib.synthetic import CLASS_NAMES, SAMPLE_SEED, make_synthetic_dataset, sample_images


@pytest.fixture(scope="module")
def data():
    return make_synthetic_dataset(40, seed=3, size=64)


def test_same_seed_same_bytes_other_seed_other_images(data):
    """Determinism: the same (n, seed, size) gives identical arrays; another seed gives other images."""
    again = make_synthetic_dataset(40, seed=3, size=64)
    assert np.array_equal(data.images, again.images) and np.array_equal(data.masks, again.masks)
    assert np.array_equal(data.labels, again.labels)
    assert not np.array_equal(data.images, make_synthetic_dataset(40, seed=4, size=64).images)


def test_shapes_dtypes_and_balance(data):
    """uint8 (N, H, W, 3) images, int64 labels balanced over >= 10 classes, bool masks."""
    assert data.images.shape == (40, 64, 64, 3) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64 and data.masks.shape == (40, 64, 64) and data.masks.dtype == bool
    assert len(CLASS_NAMES) >= 10 and data.class_names == CLASS_NAMES
    assert np.bincount(data.labels, minlength=len(CLASS_NAMES)).tolist() == [4] * len(CLASS_NAMES)


def test_masks_mark_a_visible_object(data):
    """Every mask covers part (not all) of its image, and the object's pixels differ from the background's."""
    area = data.masks.mean(axis=(1, 2))
    assert (area > 0.02).all() and (area < 0.6).all()
    img = data.images.astype(np.float64)
    inside = np.array([im[m].mean(0) for im, m in zip(img, data.masks)])
    outside = np.array([im[~m].mean(0) for im, m in zip(img, data.masks)])
    assert (np.linalg.norm(inside - outside, axis=1) > 20).mean() > 0.9


def test_sample_images_are_fixed_and_distinct_from_training():
    """The notebook's sample images come from their own seed and do not change between calls."""
    a, b = sample_images(5), sample_images(5)
    assert np.array_equal(a.images, b.images) and a.images.shape == (5, 128, 128, 3)
    assert SAMPLE_SEED not in range(0, 100)


@pytest.mark.parametrize("kwargs, match", [({"n": 0, "seed": 0}, "n"), ({"n": 2, "seed": -1}, "seed"),
                                           ({"n": 2, "seed": 0, "size": 16}, "size"),
                                           ({"n": 2, "seed": 1.5}, "seed")])
def test_bad_arguments_are_named(kwargs, match):
    """Each bad argument is named in the error."""
    with pytest.raises(ValueError, match=match):
        make_synthetic_dataset(**kwargs)
