"""Food-11 in its on-disk layouts, and a synthetic Food-11 written in one of them (the offline mode).

Three layouts are read (:func:`food11_layout` tells which one a folder has):

- ``"split"``: ``<root>/<split>/<label>_<n>.jpg`` with splits ``training``, ``validation`` and ``evaluation`` (the
  original Food-11 release; what the synthetic Food-11 uses);
- ``"flat"``: ``<root>/<label>_<n>.jpg``, one folder (ML2021 HW9: ``food.zip`` unpacks to ``food/``); every split
  reads that folder;
- ``"class_folders"``: ``<root>/training/labeled/<NN>/*.jpg`` and ``<root>/validation/<NN>/*.jpg`` with class
  folders ``00``..``10`` (ML2021 HW3's ``food-11``); ``"evaluation"`` reads ``validation/`` (HW3's ``testing/`` has
  no labels).

Labels 0..10 index :data:`FOOD11_CLASSES`. Files sort as HW9 sorts them, by label, then by ``n``, so
``load_food11(root, "evaluation", indices)`` picks the same files on every machine.

online:  a Food-11 folder the instructor provides (``$HWLIB_FOOD11``: a folder, or the URL of a zip archive that is
         downloaded once into the hwlib cache and unpacked), in any of the three layouts.
offline: :func:`synthetic_food11_root` draws the synthetic dishes of :mod:`.food_render` and writes them as JPEGs
         into the hwlib cache, once; the same loader reads them.

    >>> root = synthetic_food11_root()
    >>> data = load_food11(root, "evaluation", indices=[0, 10])
    >>> data.images.shape, data.labels.tolist()
    ((2, 128, 128, 3), [0, 1])
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..sources import OfflineError, cache_dir, extract_zip, fetch, resolve_with_fallback
from .food_render import DISHES, render_dish

FOOD11_CLASSES: tuple[str, ...] = tuple(DISHES)
SPLITS = ("training", "validation", "evaluation")
IMAGE_SIZE = 128
#: Images per class and split of the synthetic Food-11 on disk, and the seed of each split.
SYNTHETIC_PER_CLASS = {"training": 8, "validation": 4, "evaluation": 4}
SYNTHETIC_SEEDS = {"training": 11_000, "validation": 11_001, "evaluation": 11_002}
JPEG_QUALITY = 95
_NAME = re.compile(r"(\d+)_(\d+)\.jpe?g", re.IGNORECASE)
_CLASS_FOLDER = re.compile(r"\d{1,2}")
#: The layouts :func:`food11_files` reads, as an error message names them.
LAYOUTS = {
    "split": "<root>/{training,validation,evaluation}/<label>_<n>.jpg (the original Food-11)",
    "flat": "<root>/<label>_<n>.jpg in one folder (ML2021 HW9's food/)",
    "class_folders": "<root>/training/labeled/00/*.jpg and <root>/validation/00/*.jpg, class folders 00..10 "
                     "(ML2021 HW3's food-11)",
}
#: The folder of each split in the class-folder layout (HW3).
CLASS_FOLDER_SPLITS = {"training": ("training", "labeled"), "validation": ("validation",),
                       "evaluation": ("validation",)}


class Food11LayoutError(OfflineError, ValueError):
    """A folder that holds Food-11 in none of the accepted layouts (a ``ValueError``; also an
    :class:`~hwlib.OfflineError`, so that ``"auto"`` falls back to the offline food images)."""


def _layout_message(root) -> str:
    return (f"{root} holds Food-11 in none of the accepted layouts: " + "; ".join(LAYOUTS.values()) + ".")


@dataclass(frozen=True)
class FoodImages:
    """images ``(N, H, W, 3)`` uint8; labels ``(N,)`` int64 indexing ``class_names``; the files they came from;
    ``source`` is "online" or "offline"."""
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    paths: tuple[str, ...]
    source: str = "offline"

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _jpegs(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            and p.suffix.lower() in (".jpg", ".jpeg")]


def _class_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and _CLASS_FOLDER.fullmatch(p.name)] if folder.is_dir() else []


def food11_layout(root: str | Path) -> str | None:
    """``"split"``, ``"flat"`` or ``"class_folders"`` (see the module docstring), or ``None`` for none of them."""
    root = Path(root)
    if not root.is_dir():
        return None
    if _class_folders(root / "validation") or _class_folders(root / "training" / "labeled"):
        return "class_folders"
    named = lambda folder: any(_NAME.fullmatch(p.name) for p in _jpegs(folder))  # noqa: E731
    if any((root / split).is_dir() and named(root / split) for split in SPLITS):
        return "split"
    if named(root):
        return "flat"
    return None


def _sort_key(path: Path) -> tuple[int, str]:
    digits = re.findall(r"\d+", path.stem)
    return (int(digits[-1]) if digits else -1, path.name)


def food11_files(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """``(path, label)`` of every image of ``split`` in ``root`` (any of the three layouts), sorted by (label, n)
    as HW9 does.

    Raises:
        ValueError: an unknown split; :class:`Food11LayoutError` (a ValueError) for a folder in none of the
            layouts, a missing split folder, or a JPEG whose name is not ``<label>_<n>.jpg`` with a label in 0..10.
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}.")
    root = Path(root)
    layout = food11_layout(root)
    if layout is None:
        raise Food11LayoutError(_layout_message(root))
    found = []
    if layout == "class_folders":
        folder = root.joinpath(*CLASS_FOLDER_SPLITS[split])
        for class_folder in _class_folders(folder):
            label = int(class_folder.name)
            if label >= len(FOOD11_CLASSES):
                raise Food11LayoutError(f"{class_folder}: class folders are 00..10, got {class_folder.name!r}.")
            found += [(label, *_sort_key(path), path) for path in _jpegs(class_folder)]
        if not found:
            raise Food11LayoutError(f"no images in {folder}/NN/ (HW3's class folders); " + _layout_message(root))
        return [(path, label) for label, _, _, path in sorted(found)]
    folder = root / split if layout == "split" else root
    if not folder.is_dir():
        raise Food11LayoutError(f"no folder {folder}: a Food-11 root in this layout holds "
                                f"{', '.join(SPLITS)} folders of <label>_<n>.jpg files.")
    for path in _jpegs(folder):
        match = _NAME.fullmatch(path.name)
        if not match or int(match.group(1)) >= len(FOOD11_CLASSES):
            raise Food11LayoutError(f"{path}: expected a file name <label>_<n>.jpg with a label in 0..10.")
        found.append((int(match.group(1)), int(match.group(2)), path))
    return [(path, label) for label, _, path in sorted(found)]


def read_image(path: str | Path, size: int = IMAGE_SIZE) -> np.ndarray:
    """One image as uint8 ``(size, size, 3)`` RGB, resized with bilinear filtering (HW9's ``Resize((128, 128))``)."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8).copy()


def load_food11(root: str | Path, split: str, indices=None, size: int = IMAGE_SIZE,
                source: str = "offline") -> FoodImages:
    """Images of ``root/split`` (all, or those at ``indices`` of the sorted file list), resized to ``size``."""
    files = food11_files(root, split)
    if indices is None:
        indices = range(len(files))
    indices = [int(i) for i in indices]
    bad = [i for i in indices if not 0 <= i < len(files)]
    if bad:
        raise ValueError(f"indices: {root}/{split} has {len(files)} images, got indices {bad}.")
    chosen = [files[i] for i in indices]
    images = np.stack([read_image(p, size) for p, _ in chosen]) if chosen else np.zeros((0, size, size, 3), np.uint8)
    labels = np.array([label for _, label in chosen], dtype=np.int64)
    return FoodImages(images, labels, FOOD11_CLASSES, tuple(str(p) for p, _ in chosen), source)


def jpeg_roundtrip(image: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """``image`` (H, W, 3) uint8 as it reads back after saving it as a JPEG (what the on-disk dataset holds)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def write_synthetic_food11(root: str | Path, per_class: dict[str, int] | None = None,
                           seeds: dict[str, int] | None = None, size: int = IMAGE_SIZE) -> Path:
    """Draw the synthetic Food-11 and write it to ``root/<split>/<label>_<n>.jpg``; returns ``root``."""
    per_class = dict(SYNTHETIC_PER_CLASS if per_class is None else per_class)
    seeds = dict(SYNTHETIC_SEEDS if seeds is None else seeds)
    from PIL import Image

    for split, count in per_class.items():
        folder = Path(root) / split
        folder.mkdir(parents=True, exist_ok=True)
        for label in range(len(FOOD11_CLASSES)):
            for n in range(count):
                image = render_dish(label, seeds[split], n, size)
                Image.fromarray(image).save(folder / f"{label}_{n}.jpg", format="JPEG", quality=JPEG_QUALITY)
    return Path(root)


def _generator_version() -> str:
    """A short hash of the drawing code and the dataset's parameters (a change writes a new cache folder)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256((here / "food_render.py").read_bytes())
    digest.update(repr((SYNTHETIC_PER_CLASS, SYNTHETIC_SEEDS, IMAGE_SIZE, JPEG_QUALITY)).encode())
    return digest.hexdigest()[:10]


def synthetic_food11_root() -> Path:
    """The synthetic Food-11 folder in the hwlib cache, written on first use (about 10 s), atomically."""
    root = cache_dir() / f"food11_synthetic_{_generator_version()}"
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=".food11_synthetic."))
    try:
        write_synthetic_food11(tmp)
        try:
            os.replace(tmp, root)
        except OSError:  # another process finished first
            if not root.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def food11_setting() -> str:
    """``$HWLIB_FOOD11``: the instructor's Food-11 (a folder or a zip URL; empty if unset)."""
    return os.environ.get("HWLIB_FOOD11", "").strip()


def food11_cache_name(url: str) -> str:
    """The cache name of the archive downloaded from ``url`` (``<name>.zip``, unpacked into ``<name>/``)."""
    return "food11-" + hashlib.sha256(url.encode()).hexdigest()[:10]


def _find_layout_root(folder: Path) -> Path | None:
    """``folder`` or a folder up to two levels below it (an archive's top folder: HW9's ``food/``, HW3's
    ``food-11/``) that holds Food-11 in an accepted layout."""
    level = [folder]
    for _ in range(3):
        for candidate in level:
            if food11_layout(candidate) is not None:
                return candidate
        level = sorted(p for c in level for p in c.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    return None


def _check_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
    if bad is not None:
        raise zipfile.BadZipFile(f"member {bad!r} is corrupt")


def online_food11_root(setting: str | None = None) -> Path:
    """The instructor's Food-11 folder: ``setting`` or ``$HWLIB_FOOD11`` (a folder, or a zip URL fetched once,
    checked, and unpacked into a temporary folder renamed into place), in any accepted layout.

    Raises:
        OfflineError: nothing is configured, the archive cannot be had or is not a zip, or the folder holds
            Food-11 in none of the layouts (:class:`Food11LayoutError`; a downloaded archive is then removed).
    """
    setting = setting or food11_setting()
    if not setting:
        raise OfflineError("no Food-11 folder configured (set $HWLIB_FOOD11 to a folder or a zip URL).")
    if "://" not in setting:
        folder = Path(setting).expanduser()
        if not folder.is_dir():
            raise OfflineError(f"$HWLIB_FOOD11={setting!r} is not a folder.")
        root = _find_layout_root(folder)
        if root is None:
            raise Food11LayoutError(_layout_message(folder))
        return root
    name = food11_cache_name(setting)
    target = cache_dir() / name
    if not target.is_dir():
        archive = fetch(setting, name + ".zip", desc="Food-11", verify=_check_zip, mirror=False)
        extract_zip(archive, target, "Food-11")
    root = _find_layout_root(target)
    if root is None:
        shutil.rmtree(target, ignore_errors=True)
        (cache_dir() / (name + ".zip")).unlink(missing_ok=True)
        raise Food11LayoutError(f"the archive from {setting} was removed from the cache: " + _layout_message("it"))
    return root


def _first_of_each_class(root: Path, split: str, num: int, source: str) -> FoodImages:
    files = food11_files(root, split)
    first = {}
    for i, (_, label) in enumerate(files):
        first.setdefault(label, i)
    missing = [c for c in range(num) if c not in first]
    if missing:
        raise ValueError(f"{root}/{split} has no image of classes {missing}.")
    return load_food11(root, split, [first[c] for c in range(num)], source=source)


def _online_samples(num: int, split: str) -> FoodImages:
    root = online_food11_root()
    try:
        return _first_of_each_class(root, split, num, "online")
    except OfflineError:
        raise
    except (ValueError, OSError) as err:  # a layout problem or an unreadable image: auto falls back
        raise Food11LayoutError(f"the instructor's Food-11 ({root}) cannot be used: {err}") from err


def load_food_samples(num: int = 10, source: str | None = None, split: str = "evaluation") -> FoodImages:
    """The images notebook 04 explains: the first image of each of the classes 0..num-1 in ``split``.

    Args:
        num: how many images (1..11), one per class.
        source: ``"online"`` (the instructor's Food-11), ``"offline"`` (synthetic), ``"auto"`` or ``None``.
    """
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= len(FOOD11_CLASSES):
        raise ValueError(f"num: expected an int between 1 and {len(FOOD11_CLASSES)}, got {num!r}.")
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}.")
    samples, _ = resolve_with_fallback(
        source, lambda: _online_samples(num, split),
        lambda: _first_of_each_class(synthetic_food11_root(), split, num, "offline"), "Food-11 images")
    return samples


def synthetic_food_samples(num: int = 10) -> FoodImages:
    """The offline :func:`load_food_samples` drawn in memory, without the cache folder (the images are the same
    bytes: the same drawing and the same JPEG encoding); the autograder's inputs."""
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= len(FOOD11_CLASSES):
        raise ValueError(f"num: expected an int between 1 and {len(FOOD11_CLASSES)}, got {num!r}.")
    seed = SYNTHETIC_SEEDS["evaluation"]
    images = np.stack([jpeg_roundtrip(render_dish(label, seed, 0)) for label in range(num)])
    return FoodImages(images, np.arange(num, dtype=np.int64), FOOD11_CLASSES,
                      tuple(f"evaluation/{label}_0.jpg" for label in range(num)), "offline")
