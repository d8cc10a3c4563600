"""hwlib: helpers for the "inside the black box" course notebooks.

Data and models (online or offline), image utilities, device selection and plots. It never contains the
answers students write; those live only in the instructors' solution notebooks.
"""
from .datasets import NETWORK_VISUALIZATION_ASSETS, SampleImages, load_sample_images
from .datasets.digits import DIGITS_ASSETS, DigitImages, load_digits
from .models.digits import digit_cnn, digit_linear
from .tensorboard_figures import read_logged_figures, show_logged_figures
from .datasets.sentences import QA_PAIRS, QAPair, SenseSentences, load_sense_sentences
from .device import get_device, model_device
from .image import SQUEEZENET_MEAN, SQUEEZENET_STD, blur_image, clamp_to_image, deprocess, jitter, preprocess, rescale
from .models import LoadedModel, load_squeezenet
from .models.bert import LoadedBert, bert_assets, load_bert
from .embeddings import (QAHiddenStates, SentenceBatch, check_layer, embed_sentences, pca_per_layer, qa_hidden_states,
                         qa_layer_similarity, sense_similarity, similarity_matrix)
from .fonts import fetch_cjk_font, find_cjk_font, text_labels
from .sources import OfflineError, resolve_source
from .notebook import NotebookSetup, setup_notebook
from .class_visualization import create_class_visualization
from .models.wrappers import ADVERSARIAL_EXAMPLES_ASSETS, NormalizedClassifier, load_pixel_classifier
from .models.googlenet import load_googlenet
from .datasets.photos import PHOTOS, Photos, load_photos
from .robustness_curves import ClassDifficulty, RobustnessCurve, class_difficulty, robustness_curve
from .adversarial_training import TrainingRun, train_digit_classifier
from . import plotting
from .datasets.food import FOOD11_CLASSES, FoodImages, load_food11, load_food_samples
from .models.food import FoodClassifier, load_food_classifier, resolve_food_source
from .lime_explain import explain_image, image_and_mask, lime_feature_sizes, make_predict, slic_superpixels
# the figures' old module names (released notebooks call hwlib.plotting_explanations.show_explanations(...)):
# aliases of hwlib.plotting.<family>, the same module objects
from . import plotting_adversarial, plotting_bert, plotting_digits, plotting_explanations
# hwlib.adversarial (now robustness_curves) and hwlib.robustness (now adversarial_training): aliases, the same objects
from . import adversarial, robustness

__version__ = "0.1.0"

__all__ = [
    "SQUEEZENET_MEAN", "SQUEEZENET_STD", "preprocess", "deprocess", "rescale", "blur_image", "jitter",
    "clamp_to_image", "get_device", "model_device", "setup_notebook", "NotebookSetup", "load_squeezenet", "LoadedModel", "load_sample_images",
    "SampleImages", "NETWORK_VISUALIZATION_ASSETS", "resolve_source", "OfflineError", "create_class_visualization",
    "load_digits", "DigitImages", "DIGITS_ASSETS", "digit_linear", "digit_cnn", "ConfusedLogitCallback",
    "read_logged_figures", "show_logged_figures",
    "load_bert", "LoadedBert", "bert_assets", "load_sense_sentences", "SenseSentences", "QAPair", "QA_PAIRS",
    "embed_sentences", "SentenceBatch", "qa_hidden_states", "QAHiddenStates", "qa_layer_similarity", "check_layer",
    "pca_per_layer", "similarity_matrix", "sense_similarity", "text_labels", "find_cjk_font", "fetch_cjk_font",
    "FOOD11_CLASSES", "FoodImages", "load_food11", "load_food_samples", "FoodClassifier", "load_food_classifier",
    "resolve_food_source", "slic_superpixels", "lime_feature_sizes", "make_predict", "explain_image", "image_and_mask",
    "ADVERSARIAL_EXAMPLES_ASSETS", "NormalizedClassifier", "load_pixel_classifier", "load_googlenet", "PHOTOS",
    "Photos", "load_photos", "RobustnessCurve", "robustness_curve", "ClassDifficulty", "class_difficulty",
    "TrainingRun", "train_digit_classifier",
]


def __getattr__(name):  # ConfusedLogitCallback imports Lightning (seconds): only when it is first used
    if name == "ConfusedLogitCallback":
        from .callbacks import ConfusedLogitCallback
        return ConfusedLogitCallback
    raise AttributeError(f"module 'hwlib' has no attribute {name!r}")
