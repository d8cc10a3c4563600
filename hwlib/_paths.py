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
    try:
        from importlib.resources import files

        candidates.insert(0, Path(str(files("hwlib.data"))))
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    return candidates[-1]
