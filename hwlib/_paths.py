"""Where the shipped data (offline weights and their provenance) lives, installed or in a checkout."""
from __future__ import annotations

from pathlib import Path

_MARKER = "squeezenet1_1_synthetic.json"


def data_dir() -> Path:
    """The folder holding ``squeezenet1_1_synthetic.pt`` and friends: the package ``hwlib.data`` (``hwlib/data/`` in
    an installed wheel, a namespace package without ``__init__``), or ``data/`` next to ``hwlib/`` in a checkout or
    an editable install."""
    here = Path(__file__).resolve().parent
    candidates = [here / "data", here.parent / "data"]
    for candidate in candidates:   # looked at first: this module can then be read without importing hwlib
        if (candidate / _MARKER).is_file():
            return candidate
    try:
        from importlib.resources import files

        packaged = Path(str(files("hwlib.data")))
    except (ModuleNotFoundError, TypeError, ValueError):
        return candidates[-1]
    return packaged if (packaged / _MARKER).is_file() else candidates[-1]
