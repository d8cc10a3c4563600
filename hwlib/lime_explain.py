"""LIME for an image classifier, with the traps of HW9's LIME code handled.

Ribeiro, Singh and Guestrin (2016), *"Why Should I Trust You?"*, https://arxiv.org/abs/1602.04938. LIME cuts the
image into superpixels, switches random subsets of them "off" (paints them with their mean colour), asks the model
about every perturbed image, and fits a weighted linear model from "which superpixels were on" to the model's
probability of the class: its weights say which superpixels the prediction leans on.

The traps (each handled here, each taught in notebook 04):

- **superpixel numbering**: lime takes feature ``z`` to be ``segments == z`` for ``z = 0 .. K-1``. scikit-image >= 0.19's
  ``slic`` numbers segments from 1 by default (and HW9 passes ``start_label=1``): then feature 0 is empty and the
  last superpixel is never switched off. :func:`slic_superpixels` numbers them from 0, without gaps.
- **the label to explain**: ``explain_instance(..., top_labels=5)`` explains the five most probable classes only,
  and ``get_image_and_mask(label)`` raises ``KeyError`` for any other label (e.g. the true class of a misclassified
  image). :func:`explain_image` always explains the label it is given.
- **batching**: lime's default ``batch_size=10`` calls the model 100 times for 1000 samples. :func:`make_predict`
  runs the model without gradients, on its own device, in large batches; :func:`explain_image` also builds the
  perturbed images for a whole batch at once (lime's loop compares the segment map once per switched-off superpixel
  per sample), and draws exactly the random samples ``LimeImageExplainer.explain_instance`` would draw with the
  same seed, so both give the same explanation.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .device import model_device


def slic_superpixels(image: np.ndarray, n_segments: int = 200, compactness: float = 1, sigma: float = 1) -> np.ndarray:
    """Superpixels of ``image`` (H, W, 3) as an int64 ``(H, W)`` map numbered 0 .. K-1 without gaps (what lime
    expects), with HW9's slic parameters."""
    from skimage.segmentation import slic

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"slic_superpixels: expected an image (H, W, 3), got shape {image.shape}.")
    segments = slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma, start_label=0)
    _, dense = np.unique(segments, return_inverse=True)
    return dense.reshape(segments.shape).astype(np.int64)


def lime_feature_sizes(segments: np.ndarray) -> np.ndarray:
    """Pixels in each of lime's features ``segments == z`` for ``z`` in ``range(len(np.unique(segments)))`` (how
    lime reads a segment map): with slic's ``start_label=1`` the first is 0 and the last superpixel is missing."""
    k = len(np.unique(segments))
    return np.array([(segments == z).sum() for z in range(k)])


def make_predict(model: torch.nn.Module, batch_size: int = 256, softmax: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A lime ``classifier_fn``: images ``(B, H, W, 3)`` float in [0, 1] (or uint8) -> ``(B, C)`` float64
    probabilities (``softmax=False``: logits), computed without gradients on the model's device, ``batch_size`` at a
    time."""
    def predict(images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"predict: expected images (B, H, W, 3), got shape {images.shape}.")
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        device, outputs = model_device(model), []
        model.eval()
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = torch.as_tensor(images[start:start + batch_size], dtype=torch.float32).to(device) / scale
                scores = model(x.permute(0, 3, 1, 2))
                outputs.append((scores.softmax(dim=1) if softmax else scores).double().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, 0))
    return predict


def segment_means(image: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """``image`` with every superpixel painted in its mean colour (lime's "switched off" image)."""
    k = int(segments.max()) + 1
    flat, colours = segments.ravel(), image.reshape(-1, image.shape[-1]).astype(np.float64)
    counts = np.maximum(np.bincount(flat, minlength=k), 1)[:, None]
    means = np.stack([np.bincount(flat, colours[:, c], minlength=k) for c in range(colours.shape[1])], 1) / counts
    return means[segments].astype(image.dtype)


def explain_image(image: np.ndarray, classifier_fn: Callable[[np.ndarray], np.ndarray], label: int,
                  num_samples: int = 1000, batch_size: int = 256, segments: np.ndarray | None = None,
                  random_seed: int = 0, num_features: int = 100000):
    """LIME explanation of ``classifier_fn``'s class ``label`` at ``image`` (H, W, 3) float in [0, 1].

    Same samples, same surrogate and the same ``lime_image.ImageExplanation`` as
    ``LimeImageExplainer(random_state=random_seed).explain_instance(image, classifier_fn, labels=(label,),
    top_labels=None, num_samples=num_samples, segmentation_fn=slic_superpixels)``, computed a batch at a time.

    Returns:
        the explanation; ``explanation.local_exp[label]`` lists ``(superpixel, weight)``, ``.segments`` the
        superpixels and ``.top_labels`` every class, most probable first.
    """
    from lime import lime_image
    from sklearn.metrics import pairwise_distances

    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"explain_image: expected an image (H, W, 3), got shape {image.shape}.")
    if num_samples < 2:
        raise ValueError(f"explain_image: num_samples must be >= 2, got {num_samples}.")
    explainer = lime_image.LimeImageExplainer(random_state=random_seed)
    explainer.random_state.randint(0, high=1000)  # lime draws a segmentation seed first: keep the same stream
    segments = slic_superpixels(image) if segments is None else np.asarray(segments)
    fudged = segment_means(image, segments)
    n_features = len(np.unique(segments))
    data = explainer.random_state.randint(0, 2, num_samples * n_features).reshape(num_samples, n_features)
    data[0, :] = 1
    predictions = []
    for start in range(0, num_samples, batch_size):
        # (b, H, W, 1); C order: fancy indexing along axis 1 would leave the batch axis innermost in memory, and
        # np.where would pass that layout on to the model (a much slower convolution)
        on = np.ascontiguousarray(data[start:start + batch_size][:, segments], dtype=bool)[..., None]
        predictions.append(classifier_fn(np.where(on, image, fudged)))
    predictions = np.concatenate(predictions)
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    explanation = lime_image.ImageExplanation(image, segments)
    explanation.top_labels = list(np.argsort(predictions[0])[::-1])
    (explanation.intercept[label], explanation.local_exp[label], explanation.score,
     explanation.local_pred) = explainer.base.explain_instance_with_data(
        data, predictions, distances, label, num_features, feature_selection=explainer.feature_selection)
    return explanation


def image_and_mask(explanation, label: int, num_features: int = 11, min_weight: float = 0.05,
                   positive_only: bool = False):
    """``explanation.get_image_and_mask`` with HW9's settings, and a clear error for a label it did not explain:
    returns ``(image with the chosen superpixels tinted green (+) or red (-), mask (H, W) in {-1, 0, 1})``."""
    if label not in explanation.local_exp:
        raise ValueError(f"label {label} was not explained (explained: {sorted(explanation.local_exp)}); pass it "
                         "to explain_image, or to explain_instance as labels=(label,) with top_labels=None.")
    return explanation.get_image_and_mask(label, positive_only=positive_only, hide_rest=False,
                                          num_features=num_features, min_weight=min_weight)
