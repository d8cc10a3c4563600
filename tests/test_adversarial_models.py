"""hwlib.models.wrappers (NormalizedClassifier, load_pixel_classifier), hwlib.models.googlenet and
hwlib.datasets.photos: the models and images notebook 03 attacks."""
import numpy as np
import pytest
import torch

import hwlib
from hwlib.datasets import photos as photos_module
from hwlib.models import googlenet as googlenet_module
from hwlib.models.wrappers import NormalizedClassifier


def tiny_classifier(seed=0, channels=3, classes=4):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Conv2d(channels, 5, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                   torch.nn.Flatten(), torch.nn.Linear(5, classes))


MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


def test_normalized_classifier_normalizes_then_calls_the_model():
    """Known answer: wrapper(x) == model((x - mean) / std), per channel."""
    inner = tiny_classifier()
    wrapped = NormalizedClassifier(inner, MEAN, STD)
    x = torch.rand(3, 3, 9, 9, generator=torch.Generator().manual_seed(1))
    expected = inner((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1))
    torch.testing.assert_close(wrapped(x), expected)


def test_normalized_classifier_is_frozen_and_passes_gradients_to_the_input():
    wrapped = NormalizedClassifier(tiny_classifier(), MEAN, STD)
    assert not wrapped.training and all(not p.requires_grad for p in wrapped.parameters())
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    (grad,) = torch.autograd.grad(wrapped(x)[:, 1].sum(), x)
    assert grad.shape == x.shape and grad.abs().sum() > 0


def test_the_input_gradient_is_the_inner_gradient_divided_by_std():
    """Chain rule through the normalization: d/dx model((x - m) / s) = (d model / d z) / s per channel."""
    inner = tiny_classifier().double()
    wrapped = NormalizedClassifier(inner, MEAN, STD).double()
    x = torch.rand(1, 3, 7, 7, dtype=torch.float64, requires_grad=True)
    (g_outer,) = torch.autograd.grad(wrapped(x)[0, 2], x)
    z = ((x - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)) /
         torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)).detach().requires_grad_(True)
    (g_inner,) = torch.autograd.grad(inner(z)[0, 2], z)
    torch.testing.assert_close(g_outer, g_inner / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1))


@pytest.mark.parametrize("low, high", [(-0.01, 0.5), (0.2, 1.01), (float("nan"), 0.5)])
def test_pixels_outside_unit_range_are_a_clear_error(low, high):
    wrapped = NormalizedClassifier(tiny_classifier(), MEAN, STD)
    x = torch.full((1, 3, 6, 6), 0.5)
    x[0, 0, 0, 0], x[0, 1, 1, 1] = low, high
    with pytest.raises(ValueError, match=r"expected pixel values in \[0, 1\].*clamp"):
        wrapped(x)


def test_range_check_can_be_switched_off_and_tolerates_rounding():
    wrapped = NormalizedClassifier(tiny_classifier(), MEAN, STD)
    wrapped(torch.full((1, 3, 6, 6), 1 + 1e-7))                       # rounding of x + delta: accepted
    lenient = NormalizedClassifier(tiny_classifier(), MEAN, STD, check_range=False)
    assert torch.isfinite(lenient(torch.full((1, 3, 6, 6), 1.5))).all()


@pytest.mark.parametrize("x, error, match", [
    (torch.rand(3, 6, 6), ValueError, "single image"),
    (torch.rand(1, 6, 6, 3), ValueError, "channels-last"),
    (torch.randint(0, 255, (1, 3, 6, 6), dtype=torch.uint8), TypeError, "dtype"),
    (np.zeros((1, 3, 6, 6), np.float32), TypeError, "torch.Tensor"),
])
def test_wrong_input_layouts_are_clear_errors(x, error, match):
    with pytest.raises(error, match=match):
        NormalizedClassifier(tiny_classifier(), MEAN, STD)(x)


@pytest.mark.parametrize("mean, std, error", [((0.5, 0.5), (0.2, 0.2, 0.2), ValueError),
                                              (MEAN, (0.2, 0.0, 0.2), ValueError),
                                              (MEAN, (0.2, float("nan"), 0.2), ValueError),
                                              ("abc", STD, TypeError)])
def test_bad_mean_or_std_is_refused(mean, std, error):
    with pytest.raises(error):
        NormalizedClassifier(tiny_classifier(), mean, std)


def test_one_channel_models_are_wrapped_too():
    wrapped = NormalizedClassifier(tiny_classifier(channels=1), (0.5,), (0.5,))
    assert wrapped(torch.rand(2, 1, 8, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="RGB|channels"):
        wrapped(torch.rand(2, 3, 8, 8))


def test_buffers_follow_the_model_and_dtype():
    wrapped = NormalizedClassifier(tiny_classifier(), MEAN, STD).double()
    assert wrapped.mean.dtype == torch.float64 and wrapped(torch.rand(1, 3, 6, 6, dtype=torch.float64)).dtype == \
        torch.float64
    assert {name for name, _ in wrapped.named_buffers()} == {"mean", "std"}


def test_offline_pixel_classifier_is_the_offline_squeezenet_behind_a_normalization():
    loaded = hwlib.load_pixel_classifier("offline", device="cpu")
    assert loaded.source == "offline" and len(loaded.class_names) == 10
    assert isinstance(loaded.model, NormalizedClassifier) and loaded.model.check_range
    samples = hwlib.load_sample_images(3, source="offline")
    pixels = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float() / 255
    squeeze = hwlib.load_squeezenet("offline", device="cpu").model
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(pixels), squeeze(hwlib.preprocess(samples.images, size=None)),
                                   rtol=1e-4, atol=1e-4)
        assert (loaded.model(pixels).argmax(1).numpy() == samples.labels).all()


def test_online_assets_name_googlenet_and_the_imagenet_images():
    urls = dict(hwlib.ADVERSARIAL_EXAMPLES_ASSETS)
    assert googlenet_module.GOOGLENET_URL in urls and urls[googlenet_module.GOOGLENET_URL] == "googlenet-1378be20.pth"
    assert any(name == "imagenet_val_25.npz" for name in urls.values())


def test_googlenet_url_and_class_names_match_torchvision():
    import torchvision

    weights = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1
    assert googlenet_module.GOOGLENET_URL == weights.url
    assert googlenet_module.GOOGLENET_URL.rsplit("/", 1)[-1].split("-")[1].startswith(
        googlenet_module.GOOGLENET_SHA256_PREFIX)
    assert googlenet_module.imagenet_class_names() == tuple(weights.meta["categories"])
    assert (googlenet_module.IMAGENET_MEAN, googlenet_module.IMAGENET_STD) == (
        tuple(weights.transforms().mean), tuple(weights.transforms().std))


def test_googlenet_loads_cached_weights_like_torchvision(empty_cache, monkeypatch):
    """A stand-in weights file in the cache (its checksum declared through $HWLIB_CHECKSUMS, as a mirror of the
    course's own builds would) is loaded into the architecture torchvision uses for its pretrained GoogLeNet
    (transform_input=True, no auxiliary heads): same outputs as torchvision's own model."""
    import hashlib
    import json

    import torchvision

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = torchvision.models.GoogLeNet(aux_logits=True, transform_input=True, init_weights=True)
    empty_cache.mkdir(parents=True)
    weights = empty_cache / googlenet_module.GOOGLENET_FILE
    torch.save(reference.state_dict(), weights)
    table = empty_cache.parent / "checksums.json"
    table.write_text(json.dumps({weights.name: hashlib.sha256(weights.read_bytes()).hexdigest()}))
    monkeypatch.setenv("HWLIB_CHECKSUMS", str(table))
    loaded = hwlib.load_googlenet(device="cpu")
    assert loaded.source == "online" and len(loaded.class_names) == 1000
    assert loaded.model.aux1 is None and loaded.model.transform_input and not loaded.model.training
    reference.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference(x))


def test_googlenet_without_cache_or_network_is_an_offline_error(empty_cache):
    with pytest.raises(hwlib.OfflineError, match="googlenet"):
        hwlib.load_googlenet(device="cpu")
    with pytest.raises(hwlib.OfflineError):
        hwlib.load_pixel_classifier("online", device="cpu")


def test_photos_are_square_pixels_in_unit_range():
    photos = hwlib.load_photos(("chelsea", "camera", "motorcycle"), size=48)
    assert photos.names == ("chelsea", "camera", "motorcycle") and len(photos) == 3
    assert photos.images.shape == (3, 3, 48, 48) and photos.images.dtype == torch.float32
    assert 0 <= photos.images.min() and photos.images.max() <= 1
    gray = photos.images[1]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])   # grayscale repeated to RGB
    assert hwlib.load_photos("coffee", size=16).images.shape == (1, 3, 16, 16)


def test_square_resize_keeps_the_centre_crop():
    """Known answer: a 4 x 8 image whose centre 4 x 4 is white and the rest black, resized to its own size."""
    img = np.zeros((4, 8, 3), np.uint8)
    img[:, 2:6] = 255
    out = photos_module.square_resize(img, 4)
    assert out.shape == (3, 4, 4) and torch.equal(out, torch.ones(3, 4, 4))


@pytest.mark.parametrize("names, size, match", [(("panda",), 224, "expected names"), ((), 224, "expected names"),
                                                (("chelsea",), 4, "size"), (("chelsea",), 224.0, "size")])
def test_bad_photo_requests_are_clear_errors(names, size, match):
    with pytest.raises(ValueError, match=match):
        hwlib.load_photos(names, size=size)
