"""Text that came from a student (messages, names, output), made safe to store, show and encode."""
from __future__ import annotations

import re

MAX_TEXT = 2000
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(value, limit: int = MAX_TEXT) -> str:
    """``value`` as printable text that any encoder accepts: lone surrogates and control characters become
    U+FFFD, at most ``limit`` characters. Never raises."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        text = "<unprintable>"
    if len(text) > limit:
        text = text[:limit] + " ..."
    return _UNPRINTABLE.sub("\ufffd", text)
