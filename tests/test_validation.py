"""The shared input checks: each bad input gets a message naming what was expected."""
import numpy as np
import pytest
import torch

from hwlib._validation import check_class_index, check_image_batch, check_labels


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((1, 3, 4, 4), np.float32), TypeError, "torch.Tensor of shape"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), TypeError, "hwlib.preprocess"),
    (torch.zeros(3, 4, 4), ValueError, "unsqueeze"),
    (torch.zeros(1, 4, 4, 3), ValueError, "permute"),
    (torch.zeros(1, 1, 4, 4), ValueError, "grayscale"),
    (torch.zeros(4, 4), ValueError, "rank 2"),
])
def test_check_image_batch_messages(bad, error, match):
    """Wrong type, dtype, rank, layout and channel count each get their own hint."""
    with pytest.raises(error, match=match):
        check_image_batch(bad)


def test_check_image_batch_accepts_and_returns_same_object():
    """A good batch passes through unchanged (same object, no copy)."""
    x = torch.zeros(2, 3, 4, 4)
    assert check_image_batch(x) is x


def test_check_labels_and_class_index():
    """Labels must be integer (N,) in range; a class index must be one int in range."""
    assert check_labels(torch.tensor([0, 2]), 2, 3) is not None
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        check_labels(torch.tensor([0, 2]), 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        check_labels(torch.tensor([0, 5]), 2, 3)
    with pytest.raises(TypeError, match="integer"):
        check_labels(torch.tensor([0.0, 1.0]), 2)
    assert check_class_index(torch.tensor(2), 3) == 2 and check_class_index(np.int64(1)) == 1
    for bad in (1.5, "3", True, torch.tensor([1, 2])):
        with pytest.raises(TypeError, match="one integer class index"):
            check_class_index(bad)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        check_class_index(10, 10)
