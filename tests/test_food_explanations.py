"""hwlib's LIME helpers and the explanation figures of notebook 04: the superpixel numbering trap, explaining any
label, batched no-grad prediction, and the same explanation as lime's own explain_instance."""
import numpy as np
import pytest
import torch
from lime import lime_image
from skimage.segmentation import slic

import hwlib
from hwlib import lime_explain, plotting_explanations
from hwlib.datasets.food import synthetic_food_samples


@pytest.fixture(scope="module")
def image():
    return synthetic_food_samples(1).images[0].astype(np.float64) / 255


def colour_classifier(images):
    """A deterministic stand-in model: 11 class probabilities from the mean colour of the image's centre, class 10
    always the least likely."""
    centre = np.asarray(images)[:, 40:88, 40:88].mean(axis=(1, 2))            # (B, 3)
    logits = np.concatenate([centre @ np.linspace(-2, 2, 30).reshape(3, 10), np.full((len(images), 1), -9.0)], 1)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_superpixels_are_numbered_from_zero_without_gaps(image):
    segments = hwlib.slic_superpixels(image)
    assert segments.shape == image.shape[:2] and segments.dtype == np.int64
    assert np.array_equal(np.unique(segments), np.arange(segments.max() + 1))
    assert (hwlib.lime_feature_sizes(segments) > 0).all()


def test_slic_from_one_loses_a_superpixel_in_lime(image):
    """The trap: with start_label=1, lime's feature 0 is empty and the last superpixel is not a feature."""
    segments = slic(image, n_segments=200, compactness=1, sigma=1, start_label=1)
    sizes = hwlib.lime_feature_sizes(segments)
    assert sizes[0] == 0 and len(sizes) == segments.max()
    assert sizes.sum() == image.shape[0] * image.shape[1] - (segments == segments.max()).sum()


def test_segment_means_match_lime(image):
    segments = hwlib.slic_superpixels(image)
    expected = image.copy()
    for x in np.unique(segments):                     # lime's own loop (hide_color=None)
        expected[segments == x] = image[segments == x].mean(axis=0)
    np.testing.assert_allclose(lime_explain.segment_means(image, segments), expected, atol=1e-12)


def test_explanation_is_limes_own(image):
    """Same seed, same samples, same surrogate: hwlib's batched explanation equals explain_instance's."""
    ours = hwlib.explain_image(image, colour_classifier, 3, num_samples=60, batch_size=25, random_seed=5)
    theirs = lime_image.LimeImageExplainer(random_state=5).explain_instance(
        image, colour_classifier, labels=(3,), top_labels=None, num_samples=60,
        segmentation_fn=hwlib.slic_superpixels)
    assert np.array_equal(ours.segments, theirs.segments)
    a, b = dict(ours.local_exp[3]), dict(theirs.local_exp[3])
    assert a.keys() == b.keys()
    np.testing.assert_allclose([a[k] for k in sorted(a)], [b[k] for k in sorted(b)], rtol=1e-8, atol=1e-12)
    assert ours.score == pytest.approx(theirs.score)


def test_any_label_can_be_explained(image):
    """lime's default top_labels=5 cannot show class 10 (the least likely); explain_image can."""
    default = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        image, colour_classifier, num_samples=20, segmentation_fn=hwlib.slic_superpixels)
    with pytest.raises(KeyError):
        default.get_image_and_mask(10)
    ours = hwlib.explain_image(image, colour_classifier, 10, num_samples=20)
    shown, mask = hwlib.image_and_mask(ours, 10)
    assert shown.shape == image.shape and mask.shape == image.shape[:2] and set(np.unique(mask)) <= {-1, 0, 1}
    assert ours.top_labels[-1] == 10
    with pytest.raises(ValueError, match="not explained"):
        hwlib.image_and_mask(ours, 4)


def test_bad_inputs_are_named(image):
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        hwlib.slic_superpixels(image[..., 0])
    with pytest.raises(ValueError, match="num_samples"):
        hwlib.explain_image(image, colour_classifier, 0, num_samples=1)
    with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
        hwlib.make_predict(hwlib.FoodClassifier(width=1 / 16))(image)


class CountingModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = hwlib.FoodClassifier(width=1 / 16).eval()
        self.calls, self.grad_enabled = [], []

    def forward(self, x):
        self.calls.append(len(x))
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.inner(x)


def test_predict_is_batched_without_gradients(image):
    model = CountingModel()
    batch = np.stack([image] * 7)
    probabilities = hwlib.make_predict(model, batch_size=3)(batch)
    assert model.calls == [3, 3, 1] and not any(model.grad_enabled)
    assert probabilities.shape == (7, 11) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-6)
    logits = hwlib.make_predict(model, softmax=False)((batch * 255).astype(np.uint8))
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), probabilities, atol=1e-2)


def test_lime_with_batch_10_calls_the_model_10_times_more(image):
    model = CountingModel()
    predict = hwlib.make_predict(model)
    lime_image.LimeImageExplainer(random_state=0).explain_instance(
        image, predict, labels=(0,), top_labels=None, num_samples=100, segmentation_fn=hwlib.slic_superpixels)
    default_calls = len(model.calls)
    model.calls.clear()
    hwlib.explain_image(image, predict, 0, num_samples=100, batch_size=128)
    assert default_calls == 10 and len(model.calls) == 1


def test_normalize_is_per_map():
    maps = np.stack([np.arange(4.0).reshape(2, 2), 10 + 2 * np.arange(4.0).reshape(2, 2), np.ones((2, 2))])
    out = plotting_explanations.normalize(maps)
    np.testing.assert_allclose(out[0], out[1])
    assert out[0].min() == 0 and out[0].max() == 1 and not out[2].any()


def test_figures(image):
    import matplotlib

    matplotlib.use("Agg")
    images = torch.rand(3, 3, 128, 128)
    fig = plotting_explanations.show_explanations(
        images, [("heat", torch.rand(3, 128, 128), "heat"), ("signed", torch.randn(3, 128, 128), "signed"),
                 ("rgb", torch.randn(3, 3, 128, 128), "rgb")], ["a", "b", "c"], "title")
    assert len([ax for ax in fig.axes if ax.images]) == 12 and fig._suptitle.get_text() == "title"
    with pytest.raises(ValueError, match="titles"):
        plotting_explanations.show_explanations(images, [], ["a"])
    with pytest.raises(ValueError, match="kind"):
        plotting_explanations.show_explanations(images, [("x", torch.rand(3, 128, 128), "nope")], ["a", "b", "c"])
    uint8 = (np.stack([image] * 2) * 255).astype(np.uint8)
    segments = [hwlib.slic_superpixels(image)] * 2
    assert plotting_explanations.show_lime(uint8, np.stack([image] * 2), ["a", "b"], segments).axes
    from_1 = slic(image, n_segments=200, compactness=1, sigma=1, start_label=1)
    fig = plotting_explanations.show_segment_numbering(uint8[0], segments[0], from_1, hwlib.lime_feature_sizes(from_1))
    assert "feature 0 has 0 px" in fig.axes[2].get_title()
