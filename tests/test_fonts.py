"""hwlib.fonts: Chinese labels render with a CJK font, or fall back to indexed labels with ONE warning - never boxes
of missing glyphs, never a crash."""
from __future__ import annotations

import shutil
import warnings
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from hwlib import fonts  # noqa: E402
from hwlib import sources  # noqa: E402

LABELS = ["[0] 今天買了蘋果來吃", "[1] 蘋果的股價又跌了"]


@pytest.fixture
def no_cjk_font(monkeypatch):
    """matplotlib knows only DejaVu Sans and the placeholder "Last Resort" font (whatever this machine has)."""
    from matplotlib import font_manager

    keep = ("DejaVuSans.ttf", "LastResortHE-Regular.ttf")
    entries = [e for e in font_manager.fontManager.ttflist if font_manager.Path(e.fname).name in keep]
    assert {font_manager.Path(e.fname).name for e in entries} == set(keep)
    monkeypatch.setattr(font_manager.fontManager, "ttflist", entries)
    fonts._warn_missing_font.cache_clear()
    yield
    fonts._warn_missing_font.cache_clear()


def test_the_placeholder_font_is_never_taken_for_a_cjk_font(no_cjk_font):
    """matplotlib's "Last Resort" font claims every character but draws boxes."""
    assert fonts.find_cjk_font("蘋果") is None


def test_without_a_cjk_font_labels_are_indexed_with_one_warning(no_cjk_font):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = fonts.text_labels(LABELS)
        second = fonts.text_labels(LABELS, fallback=lambda i: f"sentence {i}")
    assert first == (["[0]", "[1]"], None)
    assert second == (["sentence 0", "sentence 1"], None)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "fonts-noto-cjk" in messages[0]


def test_latin_labels_keep_the_default_font_and_never_warn(no_cjk_font):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fonts.text_labels(["bank of a river", "Ω ≤ 2"]) == (["bank of a river", "Ω ≤ 2"], None)


def test_a_covering_font_is_used_by_name(monkeypatch, tmp_path):
    """A known CJK family that covers the text is chosen (stand-in: a charmap that claims 蘋果)."""
    from matplotlib import font_manager

    dejavu = fonts.default_font_path()
    fake = tmp_path / "NotoSansCJK-Regular.ttc"
    shutil.copyfile(dejavu, fake)
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [SimpleNamespace(name="DejaVu Sans", fname=dejavu),
                         SimpleNamespace(name="Noto Sans CJK TC", fname=str(fake))])
    real = fonts._charmap
    monkeypatch.setattr(fonts, "_charmap",
                        lambda path: real(path) | {ord(c) for c in "".join(LABELS)} if path == str(fake) else real(path))
    labels, prop = fonts.text_labels(LABELS)
    assert labels == LABELS and prop.get_file() == str(fake)
    assert fonts.text_labels(LABELS, font=fake)[1].get_file() == str(fake)


def test_chinese_figures_draw_without_missing_glyph_warnings(no_cjk_font):
    """The whole figures draw; matplotlib never complains about a glyph (no tofu boxes): labels become indices,
    a title keeps its readable part."""
    import matplotlib.pyplot as plt

    from hwlib.plotting_bert import show_similarity_matrix

    from hwlib.plotting_bert import show_sense_similarity_by_layer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = show_similarity_matrix(np.eye(2), LABELS, senses=[0, 1], title="'蘋' in 2 sentences")
        fig.canvas.draw()
        curves = show_sense_similarity_by_layer([[0.9, 0.8]], [[0.9, 0.7]], ["蘋"])
        curves.canvas.draw()
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "missing from" in m or "Glyph" in m], messages
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["[0]", "[1]"]
    assert fig.axes[0].get_title() == "'?' in 2 sentences"
    assert [t.get_text() for t in curves.axes[1].get_legend().get_texts()] == ["word 0"]
    plt.close(fig)
    plt.close(curves)


def test_fetch_cjk_font_needs_the_network(empty_cache):
    with pytest.raises(sources.OfflineError, match="HWLIB_NO_NETWORK"):
        fonts.fetch_cjk_font()


def test_fetch_cjk_font_downloads_once_and_registers(empty_cache, tmp_path, monkeypatch):
    """Through hwlib.sources (here from a file:// URL) into the cache, then known to matplotlib."""
    from matplotlib import font_manager

    from online.assets import cjk_font    # a real OpenType font that draws the notebook's Chinese characters

    source = tmp_path / "served.otf"
    source.write_bytes(cjk_font())
    monkeypatch.delenv("HWLIB_NO_NETWORK")
    monkeypatch.setenv(fonts.FONT_URL_VARIABLE, source.as_uri())
    monkeypatch.setattr(font_manager.fontManager, "ttflist", list(font_manager.fontManager.ttflist))
    path = fonts.fetch_cjk_font()
    assert path == str(empty_cache / fonts.CJK_FONT_FILE)
    assert any(entry.fname == path for entry in font_manager.fontManager.ttflist)
    source.unlink()
    assert fonts.fetch_cjk_font() == path        # cached: no second download
