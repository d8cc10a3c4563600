"""Builders of every online asset in its publisher's format, and the settings that point hwlib at a server of them.

What is real and what is scaled down (the format never changes):
- torchvision's ``squeezenet1_1-b8a52dc0.pth`` and ``googlenet-1378be20.pth``: state dicts of torchvision's own model
  classes saved under the real file names (GoogLeNet: random weights, aux classifiers included as in the real file;
  SqueezeNet: hwlib's trained offline weights spread over the 1000 classes, see :func:`squeezenet_weights`);
- MNIST: the four gzipped idx files (magic 2051/2049, big-endian sizes), scikit-learn's digits upsampled to 28x28
  (1,500 training / 297 test images instead of 60,000 / 10,000);
- CS231n's ``imagenet_val_25.npz``: ``X`` (25, 224, 224, 3) uint8, ``y`` (25,) and the pickled ``label_map`` dict;
- ``bert-base-chinese``: the real config keys (12 layers, vocabulary 21,128) with hidden size 64 instead of 768, a
  21,128-token WordPiece vocabulary laid out like the real one, the real tokenizer settings, and a safetensors
  checkpoint of ``BertForPreTraining`` with the old key names (``LayerNorm.gamma/beta``, ``bert.``/``cls.``);
- Noto Sans TC: an OpenType (CFF) font with glyphs for the characters the notebook draws;
- ML2021 HW9's checkpoint: ``{"model_state_dict", "optimizer_state_dict"}`` (Adam state after one step) of the food
  classifier at width 1/16 (hwlib's offline weights), and HW9's ``food.zip`` (flat ``food/<label>_<n>.jpg``) and
  HW3's ``food-11.zip`` (``food-11/training/labeled/NN/``, ``validation/NN/``, ``testing/00/``) of synthetic dishes.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

#: The server paths of the two instructor assets (their URLs are instructor settings, not mirrored names).
FOOD_CHECKPOINT = "instructor/checkpoint.pth"
FOOD_HW9_ZIP = "instructor/food.zip"
FOOD_HW3_ZIP = "instructor/food-11.zip"


def _torch_bytes(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def squeezenet_weights() -> bytes:
    """torchvision's ``squeezenet1_1`` (1000 classes) with hwlib's trained offline trunk, so that gradients mean
    something (a randomly initialised SqueezeNet cannot be fooled toward a class in 100 steps, which the notebook
    checks): class ``i`` gets the offline model's class ``i % 10`` row, its bias lowered by ``0.1 * (i // 10)`` so
    that classes 0..9 win their copies."""
    import torch
    import torchvision

    from hwlib._paths import data_dir
    from hwlib.models.squeezenet import OFFLINE_WEIGHTS

    trained = torch.load(data_dir() / OFFLINE_WEIGHTS, map_location="cpu", weights_only=True)
    model = torchvision.models.squeezenet1_1(weights=None)
    state = model.state_dict()
    for key, value in trained.items():
        if key.startswith("classifier.1."):
            rows = value.float()[torch.arange(1000) % value.shape[0]].clone()
            if key.endswith("bias"):
                rows -= 0.1 * (torch.arange(1000) // value.shape[0]).float()
            state[key] = rows
        else:
            state[key] = value.float()
    model.load_state_dict(state)
    return _torch_bytes(model.state_dict())


def googlenet_weights() -> bytes:
    import torchvision

    model = torchvision.models.GoogLeNet(num_classes=1000, aux_logits=True, transform_input=True, init_weights=False)
    return _torch_bytes(model.state_dict())


def _idx(data: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">i", magic) + b"".join(struct.pack(">i", s) for s in data.shape)
    return gzip.compress(header + data.astype(np.uint8).tobytes(), mtime=0)


def mnist_files() -> dict[str, bytes]:
    from sklearn.datasets import load_digits as sklearn_digits

    from hwlib.datasets.digits import MNIST_FILES, upsample_digits

    bunch = sklearn_digits()
    images = (upsample_digits(bunch.images).squeeze(1).numpy() * 255).round().astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    split = {"train": slice(0, 1500), "val": slice(1500, None)}
    files = {}
    for name, (img, lab) in MNIST_FILES.items():
        files["mnist/" + img[0]] = _idx(images[split[name]], 2051)
        files["mnist/" + lab[0]] = _idx(labels[split[name]], 2049)
    return files


def imagenet_val_25() -> bytes:
    import torchvision

    names = torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"]
    rng = np.random.default_rng(0)
    y = rng.choice(1000, 25, replace=False).astype(np.int64)
    base = rng.integers(0, 256, (25, 1, 1, 3))
    X = np.clip(base + rng.normal(0, 40, (25, 224, 224, 3)), 0, 255).astype(np.uint8)
    label_map = {i: name for i, name in enumerate(names)}
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y, label_map=np.array(label_map, dtype=object))
    return buffer.getvalue()


def bert_characters() -> str:
    """Every character the online BERT notebook tokenizes or draws (the sentences of its online source)."""
    from hwlib.datasets import sentences

    root = Path(__file__).resolve().parents[2]
    text = Path(sentences.__file__).read_text(encoding="utf-8")
    text += (root / "solutions" / "05_bert_embeddings" / "bert_embeddings.ipynb").read_text(encoding="utf-8")
    text += json.loads(json.dumps("蘋果"))
    return "".join(sorted({c for c in text if ord(c) > 127 and not c.isspace()}))


def bert_vocab(size: int = 21128) -> list[str]:
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    tokens += [chr(c) for c in range(33, 127)]
    tokens += [c for c in bert_characters() if c not in tokens]
    seen = set(tokens)
    code = 0x4E00
    while len(tokens) < size:
        if chr(code) not in seen:
            tokens.append(chr(code))
        code += 1
    return tokens[:size]


BERT_CONFIG = {  # bert-base-chinese's config.json, with hidden_size 768 -> 64, 12 heads -> 4, intermediate 3072 -> 128
    "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "directionality": "bidi",
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 64, "initializer_range": 0.02,
    "intermediate_size": 128, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 4, "num_hidden_layers": 12, "pad_token_id": 0, "pooler_fc_size": 768,
    "pooler_num_attention_heads": 12, "pooler_num_fc_layers": 3, "pooler_size_per_head": 128,
    "pooler_type": "first_token_transform", "type_vocab_size": 2, "vocab_size": 21128,
}


def bert_files() -> dict[str, bytes]:
    import torch
    import transformers
    from safetensors.torch import save

    config = transformers.BertConfig(**BERT_CONFIG)
    torch.manual_seed(0)
    model = transformers.BertForPreTraining(config)
    state = {}
    for key, value in model.state_dict().items():
        key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[key] = value.detach().clone().contiguous()
    assert any(k.startswith("cls.") for k in state) and all(k.startswith(("bert.", "cls.")) for k in state)
    return {
        "config.json": json.dumps(BERT_CONFIG, indent=2).encode(),
        "vocab.txt": ("\n".join(bert_vocab()) + "\n").encode(),
        "tokenizer_config.json": json.dumps({"do_lower_case": False, "model_max_length": 512}).encode(),
        "model.safetensors": save(state, metadata={"format": "pt"}),
    }


def cjk_font(characters: str | None = None) -> bytes:
    """An OpenType font (CFF outlines) named Noto Sans TC with a box glyph for each character."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    characters = characters or bert_characters()
    names = [".notdef", "space"] + [f"uni{ord(c):04X}" for c in characters]
    fb = FontBuilder(1000, isTTF=False)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({32: "space", **{ord(c): f"uni{ord(c):04X}" for c in characters}})
    charstrings = {}
    for name in names:
        pen = T2CharStringPen(1000, None)
        if name != "space":
            pen.moveTo((100, -50))
            pen.lineTo((900, -50))
            pen.lineTo((900, 800))
            pen.lineTo((100, 800))
            pen.closePath()
        charstrings[name] = pen.getCharString()
    fb.setupCFF("NotoSansTC-Regular", {"FullName": "Noto Sans TC Regular"}, charstrings, {})
    fb.setupHorizontalMetrics({name: (1000, 100) for name in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "Noto Sans TC", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    buffer = io.BytesIO()
    fb.save(buffer)
    return buffer.getvalue()


def food_checkpoint() -> bytes:
    """HW9's checkpoint dict: hwlib's offline food classifier (width 1/16) and Adam's state after one step."""
    import torch

    from hwlib.models.food import FoodClassifier, OFFLINE_WEIGHTS, state_dict_from_checkpoint
    from hwlib._paths import data_dir

    state = state_dict_from_checkpoint(torch.load(data_dir() / OFFLINE_WEIGHTS, map_location="cpu",
                                                  weights_only=True))
    model = FoodClassifier(width=1 / 16)
    model.load_state_dict(state)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(2, 3, 128, 128)).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    model.load_state_dict(state)  # the step changed the weights; the checkpoint keeps the trained ones
    return _torch_bytes({"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict()})


def _food_images(per_class: int, seed: int) -> list[tuple[int, int, bytes]]:
    from PIL import Image

    from hwlib.datasets.food import FOOD11_CLASSES
    from hwlib.datasets.food_render import render_dish

    out = []
    for label in range(len(FOOD11_CLASSES)):
        for n in range(per_class):
            buffer = io.BytesIO()
            Image.fromarray(render_dish(label, seed, n, 128)).save(buffer, format="JPEG", quality=95)
            out.append((label, n, buffer.getvalue()))
    return out


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def food_hw9_zip() -> bytes:
    from hwlib.datasets.food import SYNTHETIC_SEEDS

    return _zip({f"food/{label}_{n}.jpg": data for label, n, data in _food_images(2, SYNTHETIC_SEEDS["evaluation"])})


def food_hw3_zip() -> bytes:
    from hwlib.datasets.food import SYNTHETIC_SEEDS

    entries = {}
    for label, n, data in _food_images(2, SYNTHETIC_SEEDS["training"]):
        entries[f"food-11/training/labeled/{label:02d}/{label}_{n}.jpg"] = data
        entries[f"food-11/training/unlabeled/00/{label}_{n}.jpg"] = data
    for label, n, data in _food_images(2, SYNTHETIC_SEEDS["evaluation"]):
        entries[f"food-11/validation/{label:02d}/{label}_{n}.jpg"] = data
        entries[f"food-11/testing/00/{label * 2 + n}.jpg"] = data
    return _zip(entries)


def build_fingerprint() -> str:
    """A hash of everything the built assets are made from (this module, the offline weights it copies, the
    drawing code, the texts whose characters the BERT vocabulary and the font must hold): a build made from
    other inputs is stale and is built again."""
    from hwlib._paths import data_dir
    from hwlib.datasets import food_render, sentences
    from hwlib.models.food import OFFLINE_WEIGHTS as FOOD_WEIGHTS
    from hwlib.models.squeezenet import OFFLINE_WEIGHTS as SQUEEZENET_WEIGHTS

    root = Path(__file__).resolve().parents[2]
    inputs = [Path(__file__), data_dir() / SQUEEZENET_WEIGHTS, data_dir() / FOOD_WEIGHTS, Path(food_render.__file__),
              Path(sentences.__file__), root / "solutions" / "05_bert_embeddings" / "bert_embeddings.ipynb"]
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(folder: Path) -> dict[str, Path]:
    """Write every asset into ``folder`` under its server path (built once; an existing build of the same inputs,
    :func:`build_fingerprint`, is reused) and a
    ``checksums.json`` (``{cache filename: sha256}`` for ``$HWLIB_CHECKSUMS``). Returns ``{server path: file}``."""
    from hwlib.fonts import CJK_FONT_FILE
    from hwlib.models.bert import ONLINE_FILES, ONLINE_NAME
    from hwlib.models.googlenet import GOOGLENET_FILE
    from hwlib.models.squeezenet import ONLINE_WEIGHTS_FILE

    folder = Path(folder)
    done = folder / "built.json"
    fingerprint = build_fingerprint()
    if done.is_file():
        record = json.loads(done.read_text())
        if isinstance(record, dict) and record.get("fingerprint") == fingerprint:
            return {name: folder / name for name in record["files"]}
    files = {ONLINE_WEIGHTS_FILE: squeezenet_weights, GOOGLENET_FILE: googlenet_weights,
             "imagenet_val_25.npz": imagenet_val_25, CJK_FONT_FILE: cjk_font, FOOD_CHECKPOINT: food_checkpoint,
             FOOD_HW9_ZIP: food_hw9_zip, FOOD_HW3_ZIP: food_hw3_zip}
    data = {name: make() for name, make in files.items()}
    data.update(mnist_files())
    bert = bert_files()
    assert list(bert) == list(ONLINE_FILES)
    data.update({f"{ONLINE_NAME}.{name}": content for name, content in bert.items()})
    written = {}
    for name, content in data.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written[name] = path
    checksums = {name: hashlib.sha256(content).hexdigest() for name, content in data.items()}
    (folder / "checksums.json").write_text(json.dumps(checksums, indent=1))
    done.write_text(json.dumps({"fingerprint": fingerprint, "files": sorted(written)}))
    return written


def settings(server_url: str, folder: Path, food_zip: str = FOOD_HW9_ZIP) -> dict[str, str]:
    """The environment that points hwlib at the server: the mirror, the checksums of this build, and the two
    instructor settings (the HW9 checkpoint and a Food-11 archive)."""
    return {"HWLIB_MIRROR": server_url, "HWLIB_CHECKSUMS": str(Path(folder) / "checksums.json"),
            "HWLIB_FOOD_CHECKPOINT": f"{server_url}/{FOOD_CHECKPOINT}", "HWLIB_FOOD11": f"{server_url}/{food_zip}"}
