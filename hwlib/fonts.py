"""Labels that render: Chinese sentences in figures need a CJK font, and matplotlib's default has none.

:func:`text_labels` returns the labels with a font that can draw every character (the default font, or an
installed CJK font such as Noto Sans CJK, WenQuanYi or Microsoft JhengHei), or - when no font can - short indexed
labels (``[0]``, ``[1]``, ...) and ONE warning saying how to get a font. Never boxes of missing glyphs, never a
crash. :func:`fetch_cjk_font` downloads Noto Sans TC once through :mod:`hwlib.sources` (Colab has no CJK font).
On Debian/Ubuntu: ``apt-get install fonts-noto-cjk``.
"""
from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

from .assets import CJK_FONT

#: Fonts known to cover Chinese, by family name (matplotlib's name for them), preferred first.
CJK_FONT_NAMES = (
    "Noto Sans CJK TC", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans TC", "Noto Sans SC", "Noto Serif CJK TC",
    "Source Han Sans TC", "Source Han Sans SC", "Taipei Sans TC Beta", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Microsoft JhengHei", "Microsoft YaHei", "PingFang TC", "PingFang SC", "Heiti TC", "SimHei", "AR PL UMing TW",
    "AR PL UKai CN", "Droid Sans Fallback",
)
# The repository moved from googlefonts/ to notofonts/ (the old address only redirects); no published checksum.
CJK_FONT_URL, CJK_FONT_FILE = CJK_FONT.pair       # Noto Sans TC: the entry in hwlib.assets
FONT_URL_VARIABLE = CJK_FONT.setting                # "HWLIB_CJK_FONT_URL"


def _charmap(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (empty when the file cannot be read). Remembered per file
    *version* (path, size, modification time): a file replaced at the same path - a corrupt cached font removed and
    downloaded again in the same kernel - is read anew, never judged by what the old bytes held."""
    try:
        stat = os.stat(path)
    except OSError:
        return frozenset()
    return _charmap_of_version(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _charmap_of_version(path: str, size: int, mtime_ns: int) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def font_covers(path: str | os.PathLike, text: str) -> bool:
    """Whether the font file at ``path`` has a glyph for every non-space character of ``text``."""
    charmap = _charmap(str(path))
    return bool(charmap) and all(ord(c) in charmap for c in text if not c.isspace())


def default_font_path() -> str:
    """The file of the font matplotlib uses for text by default."""
    from matplotlib import font_manager

    return font_manager.findfont(font_manager.FontProperties(), fallback_to_default=True)


def find_cjk_font(text: str = "蘋果") -> str | None:
    """The file of an installed font that covers ``text``: a known CJK font first, then any registered font;
    ``None`` when there is none."""
    from matplotlib import font_manager

    entries = font_manager.fontManager.ttflist
    by_name = {}
    for entry in entries:
        by_name.setdefault(entry.name, entry.fname)
    for name in CJK_FONT_NAMES:
        if name in by_name and font_covers(by_name[name], text):
            return by_name[name]
    for entry in entries:
        if not _placeholder_font(entry.name, entry.fname) and font_covers(entry.fname, text):
            return entry.fname
    return None


def _placeholder_font(name: str, path: str) -> bool:
    """Fonts that map every character to a placeholder box (matplotlib ships "Last Resort")."""
    key = (name + " " + os.path.basename(path)).lower().replace(" ", "")
    return "lastresort" in key


def fetch_cjk_font(url: str | None = None) -> str:
    """Download Noto Sans TC once (``$HWLIB_CJK_FONT_URL`` overrides the URL), register it with matplotlib and
    return its path. Raises :class:`hwlib.OfflineError` without network."""
    from matplotlib import font_manager

    from .sources import OfflineError, fetch

    url = url or os.environ.get(FONT_URL_VARIABLE) or CJK_FONT_URL
    def verify(p):
        if not font_covers(p, "蘋果"):
            raise ValueError("not a font file that can draw Chinese characters.")

    path = fetch(url, CJK_FONT_FILE, desc="CJK font (Noto Sans TC)", verify=verify)
    if not font_covers(path, "蘋果"):
        Path(path).unlink(missing_ok=True)
        raise OfflineError(f"the cached CJK font ({path}) cannot draw Chinese characters and was removed; run again "
                           "to download it anew.")
    font_manager.fontManager.addfont(str(path))
    return str(path)


@functools.lru_cache(maxsize=1)
def _warn_missing_font() -> None:
    """The one warning about missing CJK fonts (once per process)."""
    warnings.warn("no installed font can draw these labels (Chinese characters): the figures show indexed labels "
                  "[0], [1], ... instead (the texts are printed with their index). To see the characters: "
                  "`apt-get install fonts-noto-cjk` (Debian/Ubuntu) and restart, or hwlib.fetch_cjk_font() online.",
                  stacklevel=3)


def _index_label(i: int) -> str:
    return f"[{i}]"


def text_labels(labels: Sequence[str], font: str | os.PathLike | None = None,
                fallback: Callable[[int], str] = _index_label):
    """``(labels, fontproperties)`` that render without missing glyphs.

    Args:
        labels: the texts to draw.
        font: a font file to use (e.g. from :func:`fetch_cjk_font`); by default the default font when it covers
            every label, else :func:`find_cjk_font`.
        fallback: ``fallback(i)`` is label i when no font covers the texts (default ``"[i]"``).

    Returns:
        ``(labels, None)`` (default font), ``(labels, FontProperties)`` (a CJK font), or
        ``([fallback(i), ...], None)`` after one warning.
    """
    from matplotlib.font_manager import FontProperties

    labels = [str(label) for label in labels]
    text = "".join(labels)
    if font is not None and font_covers(font, text):
        return labels, FontProperties(fname=str(font))
    if font_covers(default_font_path(), text):
        return labels, None
    found = find_cjk_font(text)
    if found is not None:
        return labels, FontProperties(fname=found)
    _warn_missing_font()
    return [fallback(i) for i in range(len(labels))], None



def readable_text(text: str, font: str | os.PathLike | None = None):
    """``(text, fontproperties)`` for one title or legend: as :func:`text_labels`, but without a covering font the
    characters the default font cannot draw become ``?`` (the rest of the text stays readable)."""
    charmap = _charmap(default_font_path())
    fallback = "".join(c if c.isspace() or ord(c) in charmap else "?" for c in str(text))
    (shown,), prop = text_labels([str(text)], font, fallback=lambda _: fallback)
    return shown, prop
