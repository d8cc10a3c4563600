"""Datasets the notebooks use, online or offline.

- :mod:`.shapes` — synthetic shape images with ground-truth object masks (offline stand-in for ImageNet photos);
- :mod:`.samples` — the sample images notebook 02 explains (CS231n's 25 ImageNet images, or synthetic shapes).
"""
from .samples import NETWORK_VISUALIZATION_ASSETS, SampleImages, load_sample_images

__all__ = ["NETWORK_VISUALIZATION_ASSETS", "SampleImages", "load_sample_images"]
