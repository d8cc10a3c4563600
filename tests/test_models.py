"""The offline model: frozen, labelled, accurate, and honest about where it came from."""
import pytest
import torch

import hwlib
from hwlib._paths import data_dir
from hwlib.models.squeezenet import OFFLINE_WEIGHTS, offline_provenance


@pytest.fixture(scope="module")
def offline():
    return hwlib.load_squeezenet("offline", device="cpu")


def test_offline_model_is_frozen_and_labelled(offline):
    """Eval mode, no parameter gradients, class names matching the output size, torchvision's architecture."""
    model, names, source = offline
    assert source == "offline" and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert len(names) >= 10 and len(set(names)) == len(names)
    assert model(torch.zeros(1, 3, 128, 128)).shape == (1, len(names))
    assert isinstance(model.classifier[1], torch.nn.Conv2d) and len(model.features) == 13  # squeezenet1_1 layout


def test_offline_model_classifies_sample_images(offline):
    """The shipped weights recognise the offline sample images (>= 90%), as the provenance record claims."""
    model, names, _ = offline
    samples = hwlib.load_sample_images(source="offline")
    assert samples.class_names == names and samples.masks is not None and len(samples) == 25
    with torch.no_grad():
        predicted = model(hwlib.preprocess(samples.images, size=None)).argmax(1).numpy()
    assert (predicted == samples.labels).mean() >= 0.9
    prov = offline_provenance()
    assert prov["heldout_accuracy"] >= 0.9 and "hwlib_training.squeezenet" in prov["command"]
    assert tuple(prov["class_names"]) == names


def test_weights_are_small():
    """The repository stays lean: the shipped weights are a few MB."""
    assert (data_dir() / OFFLINE_WEIGHTS).stat().st_size < 4_000_000


def test_sample_images_argument_errors():
    """num must be 1..25."""
    for bad in (0, 26, 2.0, True):
        with pytest.raises(ValueError, match="between 1 and 25"):
            hwlib.load_sample_images(bad, source="offline")
