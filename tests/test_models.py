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


@pytest.mark.parametrize("num_classes", [1000, 10])
def test_squeezenet_is_torchvisions_module_for_module(num_classes):
    """hwlib's SqueezeNet 1.1 (built without importing torchvision) against torchvision's own, the independent
    oracle: the same module tree and parameter names and shapes, and with torchvision's weights loaded the same
    scores and the same input gradients (eval mode)."""
    import torchvision

    from hwlib.models.squeezenet_arch import squeezenet1_1

    torch.manual_seed(0)
    theirs = torchvision.models.squeezenet1_1(weights=None, num_classes=num_classes)
    ours = squeezenet1_1(num_classes)
    assert [(n, type(m).__name__) for n, m in ours.named_modules()] == \
        [(n, type(m).__name__) for n, m in theirs.named_modules()]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()
    x = torch.rand(2, 3, 67, 45, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    scores, their_scores = ours(x), theirs(x2)
    torch.testing.assert_close(scores, their_scores, rtol=0, atol=0)
    scores[:, 3].sum().backward()
    their_scores[:, 3].sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=0, atol=0)


def test_loading_squeezenet_does_not_import_torchvision():
    """Every process that builds notebook 02's offline model (kernels, the grader, each sandbox) is spared
    torchvision's import (it pulls in torch._dynamo)."""
    import subprocess
    import sys

    code = ("import sys, hwlib; m = hwlib.load_squeezenet('offline', device='cpu'); "
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
