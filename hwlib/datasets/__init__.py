"""Datasets the notebooks use, online or offline.

- :mod:`.shapes` — synthetic shape images with ground-truth object masks (offline stand-in for ImageNet photos);
- :mod:`.samples` — the sample images notebook 02 explains (CS231n's 25 ImageNet images, or synthetic shapes);
- :mod:`.digits` — handwritten digits at 28x28 (MNIST, or scikit-learn's bundled digits upsampled).
"""
from .samples import NETWORK_VISUALIZATION_ASSETS, SampleImages, load_sample_images
from .digits import DIGITS_ASSETS, DigitImages, load_digits

__all__ = ["NETWORK_VISUALIZATION_ASSETS", "SampleImages", "load_sample_images", "DIGITS_ASSETS", "DigitImages",
           "load_digits"]
