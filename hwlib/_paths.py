"""Where the shipped data (offline weights and their provenance) lives, installed or in a checkout."""
from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    """The folder holding ``squeezenet1_1_synthetic.pt`` and friends (package ``hwlib.data`` = repo ``data/``)."""
    try:
        from importlib.resources import files

        candidate = Path(str(files("hwlib.data")))
        if candidate.is_dir():
            return candidate
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "data"
