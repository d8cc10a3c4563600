"""hwlib.datasets.sentences: do the word indices point at the word, through the real tokenizers' word mapping?"""
from __future__ import annotations

import pytest

import hwlib
from hwlib.datasets import sentences as S


@pytest.fixture(scope="module")
def minilm_tokenizer():
    return hwlib.load_bert("offline", device="cpu").tokenizer


@pytest.fixture(scope="module")
def chinese_tokenizer(tmp_path_factory):
    """A BERT WordPiece tokenizer with bert-base-chinese's rules (every CJK character is a word) over a small
    vocabulary made of the sentences' own characters: the word mapping does not depend on the vocabulary."""
    from transformers import AutoTokenizer

    chars = sorted({c for s in S.APPLE_ZH.sentences for c in s.lower() if not c.isspace()})
    folder = tmp_path_factory.mktemp("zh-tokenizer")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n",
                                      encoding="utf-8")
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer", "do_lower_case": false}')
    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def word_tokens(tokenizer, sentence: str, word: int) -> list[str]:
    encoding = tokenizer(sentence)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    return [t for t, w in zip(tokens, encoding.word_ids()) if w == word]


@pytest.mark.parametrize("word_set", [S.APPLE_EN, S.BANK_EN, S.BAT_EN, S.MOUSE_EN], ids=lambda w: w.word)
def test_offline_word_indices_point_at_the_word(word_set, minilm_tokenizer):
    """Word index -> tokens (word_ids) spells the set's word in every sentence (lower-cased English WordPiece)."""
    for sentence, index in zip(word_set.sentences, word_set.word_indices):
        spelled = "".join(t.removeprefix("##") for t in word_tokens(minilm_tokenizer, sentence, index))
        assert spelled == word_set.word, (sentence, index, spelled)


def test_hw9_indices_point_at_the_first_character_of_apple(chinese_tokenizer):
    """HW9's select_word_index [4, 2, 0, 8, 2, 0, 0, 4, 0, 0] picks 蘋 (of 蘋果) in each sentence."""
    assert S.APPLE_ZH.word_indices == (4, 2, 0, 8, 2, 0, 0, 4, 0, 0)
    for sentence, index in zip(S.APPLE_ZH.sentences, S.APPLE_ZH.word_indices):
        assert word_tokens(chinese_tokenizer, sentence, index) == ["蘋"], sentence
        assert word_tokens(chinese_tokenizer, sentence, index + 1) == ["果"], sentence


@pytest.mark.parametrize("word_set", [S.APPLE_ZH, S.APPLE_EN, S.BANK_EN, S.BAT_EN, S.MOUSE_EN],
                         ids=lambda w: f"{w.language}-{w.word}")
def test_every_set_has_two_senses_of_five_sentences(word_set):
    assert len(word_set) == 10 and len(word_set.sense_names) == 2
    assert word_set.senses == (0,) * 5 + (1,) * 5
    assert len(set(word_set.sentences)) == 10
    assert word_set.label(0).startswith(word_set.sense_names[0]) and word_set.label(9).endswith(word_set.sentences[9])


def test_load_sense_sentences_follows_the_source():
    assert hwlib.load_sense_sentences("online") == (S.APPLE_ZH,)
    assert [w.word for w in hwlib.load_sense_sentences("offline")] == ["apple", "bank", "bat", "mouse"]
    with pytest.raises(ValueError, match="resolved source"):
        hwlib.load_sense_sentences("auto")
    with pytest.raises(ValueError, match="source"):
        hwlib.load_sense_sentences("internet")


def test_qa_pairs_are_hw9s_three_with_their_answers_in_the_context():
    assert [p.answer for p in hwlib.QA_PAIRS] == ["detention", "cats", "1856"]
    assert "Emily" in hwlib.QA_PAIRS[1].question and "Tesla" in hwlib.QA_PAIRS[2].question
    with pytest.raises(ValueError, match="does not occur"):
        hwlib.QAPair("Who?", "Nobody is here.", "somebody")


def test_inconsistent_sets_are_refused():
    with pytest.raises(ValueError, match="same non-zero length"):
        S.SenseSentences("w", ("a w", "b w"), (1,), (0, 1), ("x", "y"), "en")
    with pytest.raises(ValueError, match="sense_names"):
        S.SenseSentences("w", ("a w",), (1,), (2,), ("x", "y"), "en")
