"""The online path, exercised without the internet: every online asset built in its publisher's format
(tests/online/assets.py) and served from 127.0.0.1, every download URL redirected there by one setting
($HWLIB_MIRROR; the instructor's two settings point there directly). Downloaded once with a progress bar, cached
atomically; a truncated, corrupt or web-page download is a clear error that never enters the cache; `auto` then
uses the cache, or falls back when the server is down. `python -m tests.online.run_course` runs every notebook
this way."""
from __future__ import annotations

import functools
import json
import zipfile

import pytest
import torch

import hwlib
from hwlib import sources
from hwlib.datasets import food as food_data
from hwlib.models import bert as bert_model
from online import assets
from online.server import AssetServer

WEIGHTS, SAMPLES = (name for _, name in hwlib.NETWORK_VISUALIZATION_ASSETS)


@functools.lru_cache(maxsize=None)
def built(name: str):
    """One builder's output, built once per test session."""
    return getattr(assets, name)()


@pytest.fixture
def server(monkeypatch, empty_cache):
    served = AssetServer({WEIGHTS: built("squeezenet_weights"), SAMPLES: built("imagenet_val_25")})
    monkeypatch.setenv("HWLIB_MIRROR", served.url)
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    yield served
    served.close()


def trust(monkeypatch, tmp_path, server, *names):
    """$HWLIB_CHECKSUMS for the test builds of ``names`` (they are not the publishers' files)."""
    import hashlib

    table = {name: hashlib.sha256(server.data(name)).hexdigest() for name in names}
    (tmp_path / "checksums.json").write_text(json.dumps(table))
    monkeypatch.setenv("HWLIB_CHECKSUMS", str(tmp_path / "checksums.json"))


def test_online_assets_download_once_with_a_progress_bar_then_come_from_the_cache(server, empty_cache, capsys,
                                                                                   monkeypatch, tmp_path):
    trust(monkeypatch, tmp_path, server, WEIGHTS)
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "online"
    model, names, source = hwlib.load_squeezenet("online", device="cpu")
    samples = hwlib.load_sample_images(5, source="online")
    assert source == "online" and len(names) == 1000 and samples.images.shape == (5, 224, 224, 3)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)
    assert "SqueezeNet 1.1 weights" in capsys.readouterr().err, "a progress bar names what is downloading"
    hwlib.load_squeezenet("online", device="cpu")
    hwlib.load_sample_images(source="online")
    assert server.gets(WEIGHTS) == server.gets(SAMPLES) == 1, server.requests
    assert sorted(p.name for p in empty_cache.iterdir()) == sorted([WEIGHTS, SAMPLES]), "no partial files left"
    monkeypatch.setenv("HWLIB_NO_NETWORK", "1")
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "online"
    assert hwlib.load_squeezenet("auto", device="cpu").source == "online"


def test_squeezenet_weights_are_checked_against_the_hash_in_their_file_name(server, empty_cache):
    """torchvision's file name carries its sha256 prefix: a file that does not match never enters the cache."""
    with pytest.raises(hwlib.OfflineError, match="corrupt.*expected b8a52dc0"):
        hwlib.load_squeezenet("online", device="cpu")
    assert not (empty_cache / WEIGHTS).exists()


def test_a_truncated_download_is_a_clear_error_and_caches_nothing(server, empty_cache, monkeypatch, tmp_path):
    trust(monkeypatch, tmp_path, server, WEIGHTS)
    server.truncate.add(WEIGHTS)
    with pytest.raises(hwlib.OfflineError, match="truncated"):
        hwlib.load_squeezenet("online", device="cpu")
    assert not empty_cache.exists() or not list(empty_cache.iterdir())
    server.truncate.clear()
    assert hwlib.load_squeezenet("online", device="cpu").source == "online"


def test_a_file_that_does_not_load_never_enters_the_cache(server, empty_cache):
    server.files[SAMPLES] = built("imagenet_val_25")[:100_000]
    with pytest.raises(hwlib.OfflineError, match="does not load.*nothing was cached"):
        hwlib.load_sample_images(source="online")
    assert not (empty_cache / SAMPLES).exists()
    server.files[SAMPLES] = built("imagenet_val_25")
    samples = hwlib.load_sample_images(source="online")
    assert samples.images.shape == (25, 224, 224, 3) and samples.labels.dtype.kind == "i"


def test_a_corrupt_cached_file_is_removed_with_a_clear_error(server, empty_cache):
    empty_cache.mkdir(parents=True)
    (empty_cache / SAMPLES).write_bytes(b"PK\x03\x04 not an npz")   # e.g. left by an older version
    with pytest.raises(hwlib.OfflineError, match="corrupt and was removed"):
        hwlib.load_sample_images(source="online")
    assert not (empty_cache / SAMPLES).exists()
    assert hwlib.load_sample_images(source="online").source == "online"


def test_a_checksum_mismatch_never_enters_the_cache(server, empty_cache):
    with pytest.raises(hwlib.OfflineError, match="corrupt"):
        sources.fetch("http://unused.invalid/x", SAMPLES, sha256="0" * 64)
    assert not (empty_cache / SAMPLES).exists()


def test_auto_with_an_unreachable_mirror_says_so_and_goes_offline(monkeypatch, empty_cache, capsys):
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv("HWLIB_MIRROR", "http://127.0.0.1:9")   # nothing listens on the discard port
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS) == "offline"
    assert "using offline mode" in capsys.readouterr().out


# ------------------------------------------------------------------------------------- MNIST (defect class 1)
def test_mnist_downloads_in_its_real_format_into_a_cache_subfolder(server, empty_cache, monkeypatch, tmp_path):
    """MNIST's cache names hold a folder (mnist/...): the download must still land there."""
    server.files.update(built("mnist_files"))
    trust(monkeypatch, tmp_path, server, *built("mnist_files"))
    val = hwlib.load_digits("online", "val")
    assert val.source == "online" and val.images.shape == (297, 1, 28, 28) and set(val.labels.tolist()) == set(range(10))
    assert sorted(p.name for p in (empty_cache / "mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz",
                                                                      "t10k-labels-idx1-ubyte.gz"]


def test_mnist_not_matching_its_published_md5_is_never_cached_and_auto_falls_back(server, empty_cache):
    server.files.update(built("mnist_files"))          # not the published files: their md5 differs
    with pytest.raises(hwlib.OfflineError, match="md5"):
        hwlib.load_digits("online", "val")
    assert not list((empty_cache / "mnist").iterdir())
    with pytest.warns(UserWarning, match="falling back to the offline digits"):
        assert hwlib.load_digits("auto", "val").source == "offline"


def test_a_nested_cache_name_with_the_server_down_is_an_offline_error(monkeypatch, empty_cache):
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv("HWLIB_MIRROR", "http://127.0.0.1:9")
    with pytest.warns(UserWarning, match="falling back"):
        assert hwlib.load_digits("auto", "val").source == "offline"


# ----------------------------------------------------------------------------- Food-11 (defect classes 2, 3)
@pytest.fixture
def food_server(server, monkeypatch):
    server.files.update({assets.FOOD_HW9_ZIP: built("food_hw9_zip"), assets.FOOD_HW3_ZIP: built("food_hw3_zip"),
                         assets.FOOD_CHECKPOINT: built("food_checkpoint")})
    monkeypatch.setenv("HWLIB_FOOD_CHECKPOINT", f"{server.url}/{assets.FOOD_CHECKPOINT}")
    return server


@pytest.mark.parametrize("archive, first", [(assets.FOOD_HW9_ZIP, "food/0_0.jpg"),
                                            (assets.FOOD_HW3_ZIP, "food-11/validation/00/0_0.jpg")])
def test_food11_reads_both_ml2021_archives(food_server, monkeypatch, archive, first):
    monkeypatch.setenv("HWLIB_FOOD11", f"{food_server.url}/{archive}")
    samples = hwlib.load_food_samples(10, "online")
    assert samples.source == "online" and samples.labels.tolist() == list(range(10))
    assert samples.paths[0].endswith(first) and samples.images.shape == (10, 128, 128, 3)
    assert hwlib.load_food_samples(3, "online").paths == samples.paths[:3]
    assert food_server.gets(archive) == 1


def test_food11_layouts_are_detected_and_others_named_in_one_error(tmp_path, monkeypatch):
    with zipfile.ZipFile(__import__("io").BytesIO(built("food_hw3_zip"))) as z:
        z.extractall(tmp_path / "hw3")
    root = tmp_path / "hw3" / "food-11"
    assert food_data.food11_layout(root) == "class_folders"
    training = food_data.food11_files(root, "training")
    assert [label for _, label in training] == sorted(label for _, label in training) and len(training) == 22
    (tmp_path / "other" / "images").mkdir(parents=True)
    (tmp_path / "other" / "images" / "dish.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"none of the accepted layouts.*evaluation.*HW9's food/.*HW3's food-11"):
        food_data.food11_files(tmp_path / "other", "evaluation")
    monkeypatch.setenv("HWLIB_FOOD11", str(tmp_path / "other"))
    with pytest.raises(hwlib.OfflineError, match="none of the accepted layouts"):
        hwlib.load_food_samples(3, "online")
    with pytest.warns(UserWarning, match="falling back to the offline Food-11 images"):
        assert hwlib.load_food_samples(3, "auto").source == "offline"


def test_a_non_zip_food_archive_never_enters_the_cache(food_server, empty_cache, monkeypatch):
    monkeypatch.setenv("HWLIB_FOOD11", f"{food_server.url}/{assets.FOOD_HW9_ZIP}")
    food_server.html.add(assets.FOOD_HW9_ZIP)
    with pytest.raises(hwlib.OfflineError, match="web page"):
        hwlib.load_food_samples(3, "online")
    food_server.html.clear()
    food_server.files[assets.FOOD_HW9_ZIP] = b"PK\x03\x04" + b"\x00" * 5000
    with pytest.raises(hwlib.OfflineError, match="nothing was cached"):
        hwlib.load_food_samples(3, "online")
    assert not empty_cache.exists() or not [p for p in empty_cache.iterdir()]
    food_server.files[assets.FOOD_HW9_ZIP] = built("food_hw9_zip")
    assert hwlib.load_food_samples(3, "online").source == "online"


def test_an_interrupted_unzip_leaves_nothing_that_a_later_run_trusts(food_server, empty_cache, monkeypatch):
    monkeypatch.setenv("HWLIB_FOOD11", f"{food_server.url}/{assets.FOOD_HW9_ZIP}")
    real_extract = zipfile.ZipFile.extractall

    def interrupted(self, path=None, members=None, pwd=None):
        real_extract(self, path, self.namelist()[:5])
        raise KeyboardInterrupt("the runtime was interrupted while unpacking")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hwlib.load_food_samples(3, "online")
    monkeypatch.setattr(zipfile.ZipFile, "extractall", real_extract)
    samples = hwlib.load_food_samples(10, "online")
    assert samples.labels.tolist() == list(range(10))
    assert not [p for p in empty_cache.iterdir() if p.name.startswith(".")], "no temporary folder left"


def test_the_hw9_checkpoint_dict_loads_and_a_web_page_for_it_is_never_cached(food_server, empty_cache):
    food_server.html.add(assets.FOOD_CHECKPOINT)
    with pytest.raises(hwlib.OfflineError, match="web page.*nothing was cached"):
        hwlib.load_food_classifier("online", device="cpu")
    assert not empty_cache.exists() or not list(empty_cache.glob("*.pth"))
    food_server.html.clear()
    loaded = hwlib.load_food_classifier("online", device="cpu")
    assert loaded.source == "online" and loaded.model.width == 1 / 16, "the width is read from the weights"
    assert loaded.model(torch.rand(1, 3, 128, 128)).shape == (1, 11)


def test_auto_goes_online_when_a_server_refuses_head_requests(food_server, empty_cache, monkeypatch, capsys):
    """A URL signed for GET only (a presigned S3 link: 403 to HEAD) or a server without HEAD still serves the file:
    "auto" asks for its first byte instead of falling back to offline."""
    monkeypatch.setenv("HWLIB_FOOD11", f"{food_server.url}/{assets.FOOD_HW9_ZIP}")
    food_server.no_head.update({assets.FOOD_CHECKPOINT, assets.FOOD_HW9_ZIP, SAMPLES})
    assert hwlib.resolve_food_source("auto") == "online"
    assert hwlib.resolve_source("auto", assets=hwlib.NETWORK_VISUALIZATION_ASSETS[1:]) == "online"
    assert "offline" not in capsys.readouterr().out
    assert sources.unreachable(f"{food_server.url}/no-such-file") is not None


def test_auto_food_source_says_offline_in_one_line_when_the_instructor_urls_do_not_answer(monkeypatch, empty_cache,
                                                                                         capsys):
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv("HWLIB_FOOD_CHECKPOINT", "http://127.0.0.1:9/checkpoint.pth")
    monkeypatch.setenv("HWLIB_FOOD11", "http://127.0.0.1:9/food.zip")
    assert hwlib.resolve_food_source("auto") == "offline"
    assert capsys.readouterr().out.count("using offline mode") == 1


# ------------------------------------------------------------------------------------- BERT (defect class 3, 4)
@pytest.fixture
def bert_server(server):
    server.files.update({f"{bert_model.ONLINE_NAME}.{name}": data for name, data in built("bert_files").items()})
    return server


def test_bert_base_chinese_loads_from_its_real_format_with_the_old_key_names(bert_server, empty_cache):
    model, tokenizer, source, language = hwlib.load_bert("online", device="cpu")
    assert (source, language, model.config.num_hidden_layers, model.config.vocab_size) == ("online", "zh", 12, 21128)
    from safetensors import safe_open

    with safe_open(empty_cache / "bert-base-chinese.model.safetensors", "pt") as f:
        gamma = f.get_tensor("bert.embeddings.LayerNorm.gamma")
        word = f.get_tensor("bert.embeddings.word_embeddings.weight")
    torch.testing.assert_close(model.embeddings.LayerNorm.weight, gamma)   # loaded, not freshly initialised
    torch.testing.assert_close(model.embeddings.word_embeddings.weight, word)
    encoded = tokenizer("蘋果很好吃", return_tensors="pt")
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])[1:3] == ["蘋", "果"]
    assert len(model(**encoded).hidden_states) == 13


def test_a_tokenizer_failure_keeps_the_downloaded_weights(bert_server, empty_cache, monkeypatch):
    import transformers

    def broken(*args, **kwargs):
        raise OSError("the tokenizer cannot be built here")

    with monkeypatch.context() as patched:
        patched.setattr(transformers.AutoTokenizer, "from_pretrained", broken)
        with pytest.raises(hwlib.OfflineError, match="tokenizer"):
            hwlib.load_bert("online", device="cpu")
    assert (empty_cache / "bert-base-chinese.model.safetensors").is_file(), "the weights were deleted"
    assert hwlib.load_bert("online", device="cpu").source == "online"
    assert bert_server.gets("bert-base-chinese.model.safetensors") == 1


def test_a_bert_file_that_does_not_parse_is_never_cached_and_only_it_is_fetched_again(bert_server, empty_cache):
    bert_server.files["bert-base-chinese.vocab.txt"] = b"just some words\n"
    with pytest.raises(hwlib.OfflineError, match="vocab.txt.*does not load"):
        hwlib.load_bert("online", device="cpu")
    assert not (empty_cache / "bert-base-chinese.vocab.txt").exists()
    bert_server.files["bert-base-chinese.vocab.txt"] = built("bert_files")["vocab.txt"]
    bert_server.html.add("bert-base-chinese.model.safetensors")
    with pytest.raises(hwlib.OfflineError, match="web page"):
        hwlib.load_bert("online", device="cpu")
    assert not (empty_cache / "bert-base-chinese.model.safetensors").exists()
    bert_server.html.clear()
    assert hwlib.load_bert("online", device="cpu").source == "online"
    assert bert_server.gets("bert-base-chinese.config.json") == 1


# --------------------------------------------------------------------------------- pinned sources (class 4)
def test_every_published_asset_is_pinned_or_checksummed():
    import re

    from hwlib.datasets.digits import MNIST_FILES
    from hwlib.fonts import CJK_FONT_URL
    from hwlib.models.googlenet import GOOGLENET_FILE, GOOGLENET_SHA256_PREFIX
    from hwlib.models.squeezenet import ONLINE_WEIGHTS_FILE, ONLINE_WEIGHTS_SHA256_PREFIX

    assert re.search(r"/resolve/[0-9a-f]{40}$", bert_model.ONLINE_BASE_URL), "bert-base-chinese pinned to a commit"
    assert ONLINE_WEIGHTS_SHA256_PREFIX in ONLINE_WEIGHTS_FILE and GOOGLENET_SHA256_PREFIX in GOOGLENET_FILE
    assert all(len(md5) == 32 for pair in MNIST_FILES.values() for _, md5 in pair)
    assert CJK_FONT_URL.startswith("https://github.com/notofonts/noto-cjk/"), "the repository moved to notofonts"


def test_the_cjk_font_downloads_as_an_opentype_font(server, empty_cache):
    server.files["NotoSansTC-Regular.otf"] = built("cjk_font")
    path = hwlib.fetch_cjk_font()
    assert hwlib.fonts.font_covers(path, "蘋果")


def test_a_corrupt_cached_font_is_downloaded_anew_in_the_same_kernel(server, empty_cache):
    """The font check remembered what a path held: after a corrupt cached font was removed ("run again"), the good
    download at the same path was judged by the old bytes and removed again, for as long as the kernel lived."""
    server.files["NotoSansTC-Regular.otf"] = built("cjk_font")
    empty_cache.mkdir(parents=True)
    (empty_cache / "NotoSansTC-Regular.otf").write_bytes(b"not a font " * 100)
    with pytest.raises(hwlib.OfflineError, match="cannot draw Chinese characters and was removed"):
        hwlib.fetch_cjk_font()
    path = hwlib.fetch_cjk_font()                                   # "run again", in the same process
    assert hwlib.fonts.font_covers(path, "蘋果") and server.gets("NotoSansTC-Regular.otf") == 1


def test_readme_says_what_online_mode_downloads_and_what_an_instructor_configures():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("## Online and offline modes", 1)[1].split("\n## ", 1)[0]
    for needed in ("$HWLIB_FOOD_CHECKPOINT", "$HWLIB_FOOD11", "squeezenet1_1-b8a52dc0.pth", "googlenet-1378be20.pth",
                   "imagenet_val_25.npz", "MNIST", bert_model.ONLINE_REVISION[:12], "$HWLIB_MIRROR",
                   "python -m tests.online.run_course"):
        assert needed in section, needed
