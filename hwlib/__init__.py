"""hwlib: helpers for the "inside the black box" course notebooks.

Data and models (online or offline), image utilities, device selection and plots. It never contains the
answers students write; those live only in the instructors' solution notebooks.
"""
from .datasets import NETWORK_VISUALIZATION_ASSETS, SampleImages, load_sample_images
from .datasets.digits import DIGITS_ASSETS, DigitImages, load_digits
from .device import get_device, model_device
from .image import SQUEEZENET_MEAN, SQUEEZENET_STD, blur_image, clamp_to_image, deprocess, jitter, preprocess, rescale
from .models import LoadedModel, load_squeezenet
from .sources import OfflineError, resolve_source
from .class_visualization import create_class_visualization
from . import plotting

__version__ = "0.1.0"

__all__ = [
    "SQUEEZENET_MEAN", "SQUEEZENET_STD", "preprocess", "deprocess", "rescale", "blur_image", "jitter",
    "clamp_to_image", "get_device", "model_device", "load_squeezenet", "LoadedModel", "load_sample_images",
    "SampleImages", "NETWORK_VISUALIZATION_ASSETS", "resolve_source", "OfflineError", "create_class_visualization",
    "load_digits", "DigitImages", "DIGITS_ASSETS",
]
