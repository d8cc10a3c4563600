"""hwlib.models.bert: the offline MiniLM loads with no network; the online path (fetch each file into a cache folder,
then from_pretrained) works end to end against a stand-in checkpoint served from a file:// URL."""
from __future__ import annotations

import os

import pytest
import torch

import hwlib
from hwlib.models import bert


@pytest.fixture(scope="module")
def offline():
    return hwlib.load_bert("offline", device="cpu")


def test_offline_minilm_is_frozen_and_returns_every_layer(offline):
    model, tokenizer, source, language = offline
    assert (source, language) == ("offline", "en")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert tokenizer.is_fast and model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    with torch.no_grad():
        out = model(**tokenizer("a bank of the river", return_tensors="pt"))
    assert len(out.hidden_states) == 7 and out.hidden_states[-1].shape == (1, 7, 384)


def test_loading_leaves_hub_settings_as_they_were(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hwlib.load_bert("offline", device="cpu")
    assert "HF_HUB_OFFLINE" not in os.environ
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    hwlib.load_bert("offline", device="cpu")
    assert os.environ["HF_HUB_OFFLINE"] == "0"


def test_bad_device_is_a_clear_error():
    with pytest.raises(ValueError, match="expected 'auto'"):
        hwlib.load_bert("offline", device="tpu")


def test_assets_name_the_hub_files_and_follow_the_url_setting(monkeypatch):
    monkeypatch.delenv(bert.URL_VARIABLE, raising=False)
    assets = hwlib.bert_assets()
    assert [url.rsplit("/", 1)[-1] for url, _ in assets] == list(bert.ONLINE_FILES)
    assert all(url.startswith(f"https://huggingface.co/google-bert/bert-base-chinese/resolve/{bert.ONLINE_REVISION}/")
               for url, _ in assets)   # pinned to a commit, never `main`
    assert len({name for _, name in assets}) == len(assets)
    monkeypatch.setenv(bert.URL_VARIABLE, "https://hf-mirror.com/google-bert/bert-base-chinese/resolve/main/")
    assert hwlib.bert_assets()[0][0] == "https://hf-mirror.com/google-bert/bert-base-chinese/resolve/main/config.json"


def test_online_without_network_or_cache_is_a_clear_error(empty_cache):
    with pytest.raises(hwlib.OfflineError, match="HWLIB_NO_NETWORK"):
        hwlib.load_bert("online", device="cpu")


def test_auto_falls_back_to_offline_with_a_warning(empty_cache):
    with pytest.warns(UserWarning, match="falling back to the offline BERT model"):
        loaded = hwlib.load_bert("auto", device="cpu")
    assert loaded.source == "offline"


@pytest.fixture
def served_checkpoint(tmp_path):
    """A tiny BERT masked-LM checkpoint (keys prefixed ``bert.`` like bert-base-chinese's) and its files, laid out
    as the hub serves them."""
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path / "hub"
    folder.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "今", "天", "買", "了", "蘋", "果", "a", "bank"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": false, "tokenizer_class": "BertTokenizer"}')
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64)
    original = BertForMaskedLM(config).eval()
    original.save_pretrained(folder)
    assert {p.name for p in folder.iterdir()} >= set(bert.ONLINE_FILES)
    return folder, original


def test_online_path_fetches_each_file_once_into_a_cache_folder(served_checkpoint, empty_cache, monkeypatch):
    folder, original = served_checkpoint
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv(bert.URL_VARIABLE, folder.as_uri())
    model, tokenizer, source, language = hwlib.load_bert("online", device="cpu")
    assert (source, language) == ("online", "zh")
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    inputs = tokenizer("今天買了蘋果", return_tensors="pt")
    assert tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]) == ["[CLS]", "今", "天", "買", "了", "蘋", "果",
                                                                       "[SEP]"]
    with torch.no_grad():
        got = model(**inputs).hidden_states
        want = original(**inputs, output_hidden_states=True).hidden_states
    assert len(got) == 3
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    cached = sorted(p.name for p in empty_cache.iterdir() if p.is_file())
    assert cached == sorted(f"{bert.ONLINE_NAME}.{name}" for name in bert.ONLINE_FILES)
    assert sorted(p.name for p in (empty_cache / bert.ONLINE_NAME).iterdir()) == sorted(bert.ONLINE_FILES)
    for path in folder.iterdir():          # the "hub" goes away: the cache is enough
        path.unlink()
    monkeypatch.setenv("HWLIB_NO_NETWORK", "1")
    assert hwlib.load_bert("online", device="cpu").source == "online"


def test_online_path_through_the_course_mirror(served_checkpoint, empty_cache, monkeypatch, tmp_path):
    """$HWLIB_MIRROR serves every file under its cache name."""
    folder, _ = served_checkpoint
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for url, name in hwlib.bert_assets():
        (mirror / name).write_bytes((folder / url.rsplit("/", 1)[-1]).read_bytes())
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv("HWLIB_MIRROR", mirror.as_uri())
    assert hwlib.load_bert("online", device="cpu").source == "online"


def test_a_corrupt_cached_checkpoint_is_removed_with_a_clear_error(served_checkpoint, empty_cache, monkeypatch):
    folder, _ = served_checkpoint
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv(bert.URL_VARIABLE, folder.as_uri())
    hwlib.load_bert("online", device="cpu")
    weights = empty_cache / f"{bert.ONLINE_NAME}.model.safetensors"
    weights.write_bytes(b"not a checkpoint")
    with pytest.raises(hwlib.OfflineError, match="corrupt and was removed"):
        hwlib.load_bert("online", device="cpu")
    assert not weights.exists()
    assert hwlib.load_bert("online", device="cpu").source == "online"     # downloaded anew
