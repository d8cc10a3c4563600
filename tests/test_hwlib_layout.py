"""hwlib's layout (issue 21, item 4): every old import path and public name still resolves, the alias modules are
the very same objects as the modules that now hold the code, every ``hwlib.`` reference in the released notebooks
resolves, and hwlib/assets.py lists every URL in hwlib's source.

The snapshot below is every public name (modules left out) of every hwlib module at e60e73b, before the move.
"""
from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hwlib
from hwlib import assets

ROOT = Path(__file__).resolve().parents[1]
HWLIB = ROOT / "hwlib"

# ruff: noqa: E501
OLD_PUBLIC_NAMES = {
    'hwlib': (
        'ADVERSARIAL_EXAMPLES_ASSETS', 'ClassDifficulty', 'ConfusedLogitCallback', 'DIGITS_ASSETS', 'DigitImages',
        'FOOD11_CLASSES', 'FoodClassifier', 'FoodImages', 'LoadedBert', 'LoadedModel', 'NETWORK_VISUALIZATION_ASSETS',
        'NormalizedClassifier', 'NotebookSetup', 'OfflineError', 'PHOTOS', 'Photos', 'QAHiddenStates', 'QAPair',
        'QA_PAIRS', 'RobustnessCurve', 'SQUEEZENET_MEAN', 'SQUEEZENET_STD', 'SampleImages', 'SenseSentences',
        'SentenceBatch', 'TrainingRun', 'bert_assets', 'blur_image', 'check_layer', 'clamp_to_image',
        'class_difficulty', 'create_class_visualization', 'deprocess', 'digit_cnn', 'digit_linear', 'embed_sentences',
        'explain_image', 'fetch_cjk_font', 'find_cjk_font', 'get_device', 'image_and_mask', 'jitter',
        'lime_feature_sizes', 'load_bert', 'load_digits', 'load_food11', 'load_food_classifier', 'load_food_samples',
        'load_googlenet', 'load_photos', 'load_pixel_classifier', 'load_sample_images', 'load_sense_sentences',
        'load_squeezenet', 'make_predict', 'model_device', 'pca_per_layer', 'preprocess', 'qa_hidden_states',
        'qa_layer_similarity', 'read_logged_figures', 'rescale', 'resolve_food_source', 'resolve_source',
        'robustness_curve', 'sense_similarity', 'setup_notebook', 'show_logged_figures', 'similarity_matrix',
        'slic_superpixels', 'text_labels', 'train_digit_classifier'
    ),
    'hwlib._paths': (
        'Path', 'data_dir'
    ),
    'hwlib._validation': (
        'check_class_index', 'check_image_batch', 'check_labels', 'describe'
    ),
    'hwlib.adversarial': (
        'Attack', 'Callable', 'ClassDifficulty', 'RANGE_SLACK', 'RobustnessCurve', 'Sequence', 'check_epsilon',
        'check_image_batch', 'check_labels', 'check_pixels', 'class_difficulty', 'dataclass', 'describe', 'predict',
        'robustness_curve'
    ),
    'hwlib.callbacks': (
        'Callable', 'ConfusedLogitCallback', 'ConfusedSamples', 'NamedTuple', 'Sequence', 'find_confused'
    ),
    'hwlib.class_visualization': (
        'Callable', 'UpdateStep', 'blur_image', 'check_class_index', 'clamp_to_image', 'create_class_visualization',
        'deprocess', 'jitter', 'model_device'
    ),
    'hwlib.datasets': (
        'DIGITS_ASSETS', 'DigitImages', 'NETWORK_VISUALIZATION_ASSETS', 'SampleImages', 'load_digits',
        'load_sample_images'
    ),
    'hwlib.datasets.digits': (
        'DIGITS_ASSETS', 'DIGIT_CLASS_NAMES', 'DigitImages', 'IMAGE_SIZE', 'MNIST_FILES', 'MNIST_MIRROR',
        'OFFLINE_DIGIT_SIZE', 'OFFLINE_SPLIT_SEED', 'OFFLINE_VAL_FRACTION', 'OfflineError', 'SPLITS', 'dataclass',
        'fetch', 'load_cached', 'load_digits', 'resolve_with_fallback', 'stratified_split', 'upsample_digits'
    ),
    'hwlib.datasets.food': (
        'CLASS_FOLDER_SPLITS', 'DISHES', 'FOOD11_CLASSES', 'Food11LayoutError', 'FoodImages', 'IMAGE_SIZE',
        'JPEG_QUALITY', 'LAYOUTS', 'OfflineError', 'Path', 'SPLITS', 'SYNTHETIC_PER_CLASS', 'SYNTHETIC_SEEDS',
        'cache_dir', 'dataclass', 'extract_zip', 'fetch', 'food11_cache_name', 'food11_files', 'food11_layout',
        'food11_setting', 'jpeg_roundtrip', 'load_food11', 'load_food_samples', 'online_food11_root', 'read_image',
        'render_dish', 'resolve_with_fallback', 'synthetic_food11_root', 'synthetic_food_samples',
        'write_synthetic_food11'
    ),
    'hwlib.datasets.food_render': (
        'Array', 'DISHES', 'box', 'bread', 'convex_polygon', 'dairy_product', 'dessert', 'egg', 'fried_food', 'meat',
        'noodles', 'render_dish', 'rice', 'seafood', 'soup', 'vegetable_fruit'
    ),
    'hwlib.datasets.photos': (
        'DEFAULT_PHOTOS', 'PHOTOS', 'Photos', 'dataclass', 'load_photos', 'square_resize'
    ),
    'hwlib.datasets.samples': (
        'IMAGENET_VAL_FILE', 'IMAGENET_VAL_URL', 'NETWORK_VISUALIZATION_ASSETS', 'ONLINE_WEIGHTS_URL', 'SampleImages',
        'dataclass', 'fetch', 'load_cached', 'load_sample_images', 'resolve_with_fallback'
    ),
    'hwlib.datasets.sentences': (
        'APPLE_EN', 'APPLE_ZH', 'BANK_EN', 'BAT_EN', 'MOUSE_EN', 'QAPair', 'QA_PAIRS', 'SenseSentences', 'check_source',
        'dataclass', 'load_sense_sentences'
    ),
    'hwlib.datasets.shape_sdfs': (
        'SHAPES', 'arrow', 'box', 'circle', 'convex_polygon', 'crescent', 'heart', 'hexagon', 'plus', 'regular_polygon',
        'ring', 'square', 'star', 'triangle'
    ),
    'hwlib.datasets.shapes': (
        'BACKGROUNDS', 'CLASS_NAMES', 'IMAGE_SIZE', 'MIN_CONTRAST', 'SAMPLE_SEED', 'SHAPES', 'SyntheticImages',
        'dataclass', 'make_synthetic_dataset', 'sample_images'
    ),
    'hwlib.device': (
        'get_device', 'model_device'
    ),
    'hwlib.embeddings': (
        'ANSWER', 'CONTEXT', 'Callable', 'NamedTuple', 'QAHiddenStates', 'QUESTION', 'ROLE_NAMES', 'SPECIAL',
        'SentenceBatch', 'Sequence', 'check_layer', 'dataclass', 'describe', 'embed_sentences', 'model_device',
        'pca_per_layer', 'qa_hidden_states', 'qa_layer_similarity', 'sense_similarity', 'similarity_matrix'
    ),
    'hwlib.fonts': (
        'CJK_FONT_FILE', 'CJK_FONT_NAMES', 'CJK_FONT_URL', 'Callable', 'FONT_URL_VARIABLE', 'Path', 'Sequence',
        'default_font_path', 'fetch_cjk_font', 'find_cjk_font', 'font_covers', 'readable_text', 'text_labels'
    ),
    'hwlib.image': (
        'SQUEEZENET_MEAN', 'SQUEEZENET_STD', 'blur_image', 'check_image_batch', 'clamp_to_image', 'deprocess',
        'describe', 'image_bounds', 'jitter', 'preprocess', 'rescale'
    ),
    'hwlib.lime_explain': (
        'Callable', 'explain_image', 'image_and_mask', 'lime_feature_sizes', 'make_predict', 'model_device',
        'segment_means', 'slic_superpixels'
    ),
    'hwlib.models': (
        'LoadedModel', 'freeze', 'load_squeezenet', 'offline_provenance'
    ),
    'hwlib.models.bert': (
        'FILE_CHECKS', 'LoadedBert', 'NamedTuple', 'ONLINE_BASE_URL', 'ONLINE_FILES', 'ONLINE_NAME', 'ONLINE_REVISION',
        'OfflineError', 'URL_VARIABLE', 'bert_assets', 'cache_dir', 'fetch', 'freeze', 'get_device', 'load_bert',
        'load_cached', 'offline_folder', 'online_base_url', 'online_folder', 'resolve_with_fallback'
    ),
    'hwlib.models.digits': (
        'IMAGE_SHAPE', 'NUM_CLASSES', 'digit_cnn', 'digit_linear'
    ),
    'hwlib.models.food': (
        'FOOD11_CLASSES', 'FoodClassifier', 'LoadedModel', 'OFFLINE_PROVENANCE', 'OFFLINE_WEIGHTS', 'OFFLINE_WIDTH',
        'OfflineError', 'Path', 'STAGES', 'checkpoint_cache_name', 'checkpoint_setting', 'checkpoint_width', 'data_dir',
        'fetch', 'freeze', 'get_device', 'load_cached', 'load_checkpoint', 'load_food_classifier', 'network_allowed',
        'offline_provenance', 'resolve_food_source', 'resolve_with_fallback', 'state_dict_from_checkpoint'
    ),
    'hwlib.models.googlenet': (
        'GOOGLENET_FILE', 'GOOGLENET_SHA256_PREFIX', 'GOOGLENET_URL', 'IMAGENET_MEAN', 'IMAGENET_STD', 'LoadedModel',
        'build_googlenet', 'fetch', 'freeze', 'get_device', 'imagenet_class_names', 'load_cached', 'load_googlenet'
    ),
    'hwlib.models.squeezenet': (
        'LoadedModel', 'NamedTuple', 'OFFLINE_PROVENANCE', 'OFFLINE_WEIGHTS', 'ONLINE_WEIGHTS_FILE',
        'ONLINE_WEIGHTS_SHA256_PREFIX', 'ONLINE_WEIGHTS_URL', 'data_dir', 'fetch', 'freeze', 'get_device',
        'load_cached', 'load_squeezenet', 'offline_provenance', 'resolve_with_fallback'
    ),
    'hwlib.models.wrappers': (
        'ADVERSARIAL_EXAMPLES_ASSETS', 'GOOGLENET_FILE', 'GOOGLENET_URL', 'IMAGENET_VAL_URL', 'LoadedModel',
        'NormalizedClassifier', 'RANGE_SLACK', 'check_image_batch', 'describe', 'freeze', 'get_device',
        'load_pixel_classifier', 'model_device', 'resolve_with_fallback'
    ),
    'hwlib.notebook': (
        'GPU_HINT', 'JPEG_QUALITY', 'NotebookSetup', 'dataclass', 'get_device', 'plotting_defaults', 'resolve_source',
        'runtime', 'seed_everything', 'setup_notebook', 'show_as_jpeg'
    ),
    'hwlib.plotting': (
        'Sequence', 'show_class_visualization_progress', 'show_fooling_image', 'show_saliency_maps'
    ),
    'hwlib.plotting_adversarial': (
        'Mapping', 'Sequence', 'plot_class_difficulty', 'plot_probability_trajectory', 'plot_robustness_curves',
        'show_adversarial', 'show_linear_weights', 'show_predictions'
    ),
    'hwlib.plotting_bert': (
        'ANSWER', 'CONTEXT', 'QAHiddenStates', 'QUESTION', 'ROLE_STYLE', 'Sequence', 'check_layer', 'pca_per_layer',
        'readable_text', 'show_layer_pca', 'show_sense_similarity_by_layer', 'show_similarity_matrix', 'text_labels'
    ),
    'hwlib.plotting_digits': (
        'Sequence', 'confused_logit_figure', 'show_ascent', 'show_digits', 'show_logit_gradients'
    ),
    'hwlib.plotting_explanations': (
        'KINDS', 'Sequence', 'as_display_images', 'normalize', 'show_as_jpeg', 'show_explanations', 'show_lime',
        'show_segment_numbering'
    ),
    'hwlib.robustness': (
        'Attack', 'TrainingRun', 'check_epsilon', 'check_labels', 'check_pixels', 'dataclass', 'describe',
        'train_digit_classifier'
    ),
    'hwlib.sources': (
        'HEAD_REFUSED', 'OfflineError', 'Path', 'SOURCES', 'cache_dir', 'check_source', 'default_source',
        'download_url', 'extract_zip', 'fetch', 'file_digest', 'load_cached', 'network_allowed', 'resolve_source',
        'resolve_with_fallback', 'unreachable'
    ),
    'hwlib.tensorboard_figures': (
        'LoggedFigure', 'NamedTuple', 'Path', 'event_files', 'read_logged_figures', 'show_logged_figures'
    ),
}

#: Names the old modules only imported from elsewhere and no longer import; each keeps its home (and nothing in
#: the repository, the notebooks or the solutions used them through these modules).
DROPPED = {
    "hwlib.datasets.samples": {"ONLINE_WEIGHTS_URL"},                             # hwlib.models.squeezenet, hwlib.assets
    "hwlib.models.wrappers": {"GOOGLENET_FILE", "GOOGLENET_URL", "IMAGENET_VAL_URL"},  # models.googlenet, datasets.samples
    "hwlib.plotting": {"Sequence"},                                               # typing
}

#: old module -> the module that holds its code now (the old name is an alias: the same module object).
ALIASES = {
    "hwlib.plotting_digits": "hwlib.plotting.digits",
    "hwlib.plotting_adversarial": "hwlib.plotting.adversarial",
    "hwlib.plotting_explanations": "hwlib.plotting.explanations",
    "hwlib.plotting_bert": "hwlib.plotting.embeddings",
    "hwlib.adversarial": "hwlib.robustness_curves",
    "hwlib.robustness": "hwlib.adversarial_training",
}

#: The submodules ``import hwlib`` made attributes of the package at e60e73b (released notebooks call e.g.
#: ``hwlib.plotting_explanations.show_explanations`` after a plain ``import hwlib``).
OLD_PACKAGE_ATTRIBUTES = ["_paths", "_validation", "adversarial", "class_visualization", "datasets", "device",
                          "embeddings", "fonts", "image", "lime_explain", "models", "notebook", "plotting",
                          "plotting_adversarial", "plotting_bert", "plotting_digits", "plotting_explanations",
                          "robustness", "sources", "tensorboard_figures"]


@pytest.mark.parametrize("module", sorted(OLD_PUBLIC_NAMES))
def test_every_old_module_and_public_name_still_resolves(module):
    m = importlib.import_module(module)
    missing = [n for n in OLD_PUBLIC_NAMES[module] if n not in DROPPED.get(module, ()) and not hasattr(m, n)]
    assert not missing, f"{module} lost {missing}"


def test_old_from_imports_work_in_a_fresh_interpreter():
    """``from <old module> import <name>`` statements, as old code writes them, each module imported first."""
    lines = []
    for module, names in OLD_PUBLIC_NAMES.items():
        kept = [n for n in names if n not in DROPPED.get(module, ())]
        lines.append(f"import {module}")
        lines += [f"from {module} import {n}" for n in kept]
    lines.append("print('ok')")
    out = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("old,new", sorted(ALIASES.items()))
def test_alias_modules_are_the_new_modules(old, new):
    alias, module = importlib.import_module(old), importlib.import_module(new)
    assert alias is module and module.__name__ == new
    parent, leaf = old.rsplit(".", 1)
    assert getattr(importlib.import_module(parent), leaf) is module
    for name in OLD_PUBLIC_NAMES[old]:
        assert getattr(alias, name) is getattr(module, name)
    # the alias file says where the code went, and the new module is not shadowed by its alias
    assert new in (HWLIB / (old.split(".", 1)[1] + ".py")).read_text()
    assert Path(module.__file__).resolve() == (ROOT / (new.replace(".", "/") + ".py")).resolve()


def test_hwlib_plotting_still_exports_notebook_02s_figures():
    from hwlib.plotting import saliency, show_class_visualization_progress, show_fooling_image, show_saliency_maps

    assert (show_saliency_maps, show_fooling_image, show_class_visualization_progress) == (
        saliency.show_saliency_maps, saliency.show_fooling_image, saliency.show_class_visualization_progress)
    for family in ("digits", "saliency", "adversarial", "explanations", "embeddings"):
        assert getattr(hwlib.plotting, family) is importlib.import_module(f"hwlib.plotting.{family}")


def test_import_hwlib_keeps_every_old_submodule_attribute():
    missing = [n for n in OLD_PACKAGE_ATTRIBUTES if not hasattr(hwlib, n)]
    assert not missing


def _notebook_sources() -> list[tuple[Path, str]]:
    found = []
    for path in sorted([*ROOT.glob("notebooks/*/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")]):
        cells = json.loads(path.read_text())["cells"]
        found.append((path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")))
    return found


def _resolve(dotted: str):
    obj = hwlib
    parts = dotted.split(".")[1:]
    for i, part in enumerate(parts):
        if not hasattr(obj, part):
            obj = importlib.import_module(".".join(["hwlib", *parts[:i + 1]]))
        else:
            obj = getattr(obj, part)
    return obj


def test_every_hwlib_reference_in_the_released_notebooks_resolves():
    sources = _notebook_sources()
    assert len(sources) >= 10
    seen = set()
    for path, code in sources:
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hwlib":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert alias.name == "*" or hasattr(module, alias.name) or importlib.import_module(
                        f"{node.module}.{alias.name}"), f"{path}: from {node.module} import {alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "hwlib":
                        importlib.import_module(alias.name)
        for ref in re.findall(r"\bhwlib(?:\.[A-Za-z_]\w*)+", code):
            seen.add(ref)
            try:
                _resolve(ref)
            except (AttributeError, ImportError) as err:
                raise AssertionError(f"{path.relative_to(ROOT)}: {ref} does not resolve ({err})") from None
    assert {"hwlib.plotting_explanations.show_explanations", "hwlib.plotting_adversarial.show_adversarial",
            "hwlib.plotting_digits.show_digits", "hwlib.plotting_bert.show_layer_pca",
            "hwlib.plotting.show_saliency_maps", "hwlib.robustness_curve"} <= seen


# ------------------------------------------------------------------------------------------------ assets
URL = re.compile(r"https?://[^\s\"'`<>)\]]+")
#: URLs in hwlib's source that are not downloads (papers and articles cited in docstrings).
REFERENCES = ("https://arxiv.org/", "https://iquilezles.org/")


def test_assets_lists_every_url_in_hwlib_source():
    """Grep oracle: every URL written anywhere in hwlib/ is a cited reference, or the URL (or the base folder,
    for MNIST and BERT) of an entry of hwlib.assets.ASSETS."""
    urls = [a.url for a in assets.ASSETS if a.url]
    found = {}
    for path in sorted(HWLIB.rglob("*.py")):
        for url in URL.findall(path.read_text()):
            found.setdefault(url.rstrip(".,;:"), []).append(path.relative_to(ROOT))
    assert found
    downloads = {u: where for u, where in found.items() if not u.startswith(REFERENCES)}
    unlisted = {u: where for u, where in downloads.items()
                if not any(a == u or a.startswith(u.split("{")[0]) for a in urls)}
    assert not unlisted, f"URLs in hwlib that hwlib/assets.py does not list: {unlisted}"
    # and only hwlib/assets.py spells download URLs out
    elsewhere = {u: where for u, where in downloads.items() if set(where) != {Path("hwlib/assets.py")}}
    assert not elsewhere, f"download URLs written outside hwlib/assets.py: {elsewhere}"


def test_assets_for_matches_what_each_setup_cell_passes(monkeypatch):
    monkeypatch.delenv("HWLIB_BERT_URL", raising=False)
    monkeypatch.delenv("HWLIB_MIRROR", raising=False)
    pairs = {nb: [a.pair for a in assets.assets_for(nb) if a.url] for nb in assets.NOTEBOOKS}
    assert pairs["01_gradient_ascent"] == list(hwlib.DIGITS_ASSETS)
    assert pairs["02_network_visualization"] == list(hwlib.NETWORK_VISUALIZATION_ASSETS)
    assert pairs["03_adversarial_examples"] == list(hwlib.ADVERSARIAL_EXAMPLES_ASSETS + hwlib.DIGITS_ASSETS)
    assert [a.setting for a in assets.assets_for("04")] == ["HWLIB_FOOD_CHECKPOINT", "HWLIB_FOOD11"]
    assert pairs["05_bert_embeddings"] == [*hwlib.bert_assets(), (hwlib.fonts.CJK_FONT_URL, hwlib.fonts.CJK_FONT_FILE)]
    assert assets.assets_for(3) == assets.assets_for("03") == assets.assets_for("adversarial_examples")
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir()) == list(assets.NOTEBOOKS)
    with pytest.raises(ValueError, match="expected one of"):
        assets.assets_for("06")


def test_assets_keep_the_published_checksums():
    from hwlib.datasets import digits
    from hwlib.models import googlenet, squeezenet

    assert squeezenet.ONLINE_WEIGHTS_SHA256_PREFIX == "b8a52dc0" and googlenet.GOOGLENET_SHA256_PREFIX == "1378be20"
    assert digits.MNIST_FILES["val"][0] == ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3")
    for a in assets.ASSETS:
        assert a.url is None or a.url.endswith(a.filename.rsplit(".", 1)[-1].split("/")[-1])
        assert all(nb in assets.NOTEBOOKS for nb in a.notebooks) and a.offline


def test_the_assets_table_prints():
    out = subprocess.run([sys.executable, "-m", "hwlib", "assets", "02"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0 and "RuntimeWarning" not in out.stderr
    assert "squeezenet1_1-b8a52dc0.pth" in out.stdout and "imagenet_val_25.npz" in out.stdout
    assert "googlenet" not in out.stdout


# ------------------------------------------------------------------------------------------------ one copy each
def test_one_tensor_to_numpy_helper():
    copies = [p.relative_to(ROOT) for p in HWLIB.rglob("*.py") if ".detach().float().cpu().numpy()" in p.read_text()]
    assert copies == [Path("hwlib/plotting/_arrays.py")]


def _module_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_samples_and_squeezenet_do_not_import_each_other():
    assert not any("squeezenet" in m for m in _module_level_imports(HWLIB / "datasets" / "samples.py"))
    assert not any("samples" in m or m in ("..datasets", "..") for m in
                   _module_level_imports(HWLIB / "models" / "squeezenet.py") if m != "..")
    assert "from .. import assets" in (HWLIB / "datasets" / "samples.py").read_text()
    assert "from .. import assets" in (HWLIB / "models" / "squeezenet.py").read_text()
