"""The one call every notebook's setup cell makes: source, device, seeds, plotting defaults, one status line.

    course = hwlib.setup_notebook(SOURCE, assets=hwlib.NETWORK_VISUALIZATION_ASSETS, quick=QUICK)
    device = course.device          # cuda when the runtime has a GPU, else cpu (said once, clearly)
    SOURCE = course.source          # "online" or "offline", decided once for the whole notebook

The cells before it (the parameters and the Colab install) are the same in every notebook and are written from
``course.toml`` by ``python -m autograder.course sync`` (see :mod:`autograder.course`).
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

from .device import get_device
from .sources import resolve_source

GPU_HINT = "no GPU in this runtime; on Colab: Runtime > Change runtime type > GPU (everything also runs on the CPU)"


@dataclass(frozen=True)
class NotebookSetup:
    """What :func:`setup_notebook` decided: ``source`` ("online"/"offline"), ``device``, ``seed``, ``quick``
    (smaller sizes, same code path), ``runtime`` ("colab", "jupyter" or "python")."""
    source: str
    device: torch.device
    seed: int
    quick: bool
    runtime: str

    @property
    def status(self) -> str:
        """The one status line the setup cell prints."""
        from . import __version__

        device = f"device={self.device}" + ("" if self.device.type != "cpu" else f" ({GPU_HINT})")
        return (f"hwlib {__version__} | source={self.source} | {device} | seed={self.seed} | "
                f"{'quick mode' if self.quick else 'full size'} | runtime={self.runtime}")


def runtime() -> str:
    """``"colab"`` on Google Colab, ``"jupyter"`` in another IPython kernel, else ``"python"``."""
    if "google.colab" in sys.modules:
        return "colab"
    try:
        from IPython import get_ipython
    except ImportError:
        return "python"
    shell = get_ipython()
    return "jupyter" if shell is not None and shell.__class__.__name__ != "TerminalInteractiveShell" else "python"


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


JPEG_QUALITY = 85
"""Quality of the JPEG that a notebook shows for a figure marked with :func:`show_as_jpeg` (text stays sharp)."""


def show_as_jpeg(fig):
    """Mark ``fig`` (a matplotlib figure) as photo-like: a notebook set up by :func:`setup_notebook` shows it as a
    JPEG instead of a PNG. Rows of photos, noise and heat maps compress badly as PNG (notebook 04's ten-image grids
    weigh 0.5-1.7 MB each as PNG, a tenth of that as JPEG); line plots and flat colours stay PNG. Returns ``fig``."""
    fig._hwlib_jpeg = True
    return fig


def _is_jpeg(fig) -> bool:
    return bool(getattr(fig, "_hwlib_jpeg", False))


def _install_figure_formats(shell) -> None:
    """PNG for every figure as before (the inline backend's own printer and options), JPEG instead for the figures
    marked by :func:`show_as_jpeg`: the PNG printer returns nothing for them and the JPEG printer only for them."""
    from functools import partial

    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    png, jpeg = formatters["image/png"], formatters["image/jpeg"]
    try:
        original = png.lookup_by_type(Figure)
    except KeyError:                      # no inline backend: leave the display alone
        return
    original = getattr(original, "_hwlib_original", original)     # a second setup call wraps the original once

    def png_unless_marked(fig):
        return None if _is_jpeg(fig) else original(fig)

    def jpeg_if_marked(fig, _print=partial(print_figure, fmt="jpeg", base64=True, bbox_inches="tight",
                                           pil_kwargs={"quality": JPEG_QUALITY, "optimize": True})):
        return _print(fig) if _is_jpeg(fig) else None

    png_unless_marked._hwlib_original = original
    png.for_type(Figure, png_unless_marked)
    jpeg.for_type(Figure, jpeg_if_marked)
    jpeg.enabled = True


def plotting_defaults(dpi: int = 100) -> None:
    """Inline figures in a notebook (PNG, or JPEG for figures marked by :func:`show_as_jpeg`), text at ``dpi``
    (at least 100: lower makes small labels blurry), images without interpolation blur."""
    import matplotlib

    if dpi < 100:
        raise ValueError(f"dpi: expected at least 100 (text drawn at lower resolution is blurry), got {dpi!r}.")
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and hasattr(shell, "run_line_magic") and runtime() != "python":
            shell.run_line_magic("matplotlib", "inline")
            _install_figure_formats(shell)
    except ImportError:
        pass
    matplotlib.rcParams.update({"figure.dpi": dpi, "image.interpolation": "nearest", "axes.titlesize": "medium"})


def setup_notebook(source: str | None = None, *, assets: tuple[tuple[str, str], ...] = (), seed: int = 0,
                   quick: bool = False, device: str | torch.device = "auto", dpi: int = 100,
                   verbose: bool = True) -> NotebookSetup:
    """Prepare a course notebook and print one status line.

    Args:
        source: ``"auto"``, ``"online"``, ``"offline"`` or ``None`` (``$HWLIB_SOURCE``, else ``"auto"``);
            ``"auto"`` becomes online when the notebook's ``assets`` are cached or downloadable.
        assets: ``(url, filename)`` pairs the online mode downloads (e.g. ``hwlib.NETWORK_VISUALIZATION_ASSETS``);
            needed only for ``"auto"``.
        seed: seeds Python, NumPy and torch.
        quick: smaller sizes (automated runs); recorded and printed, the notebook decides what it means.
        device: ``"auto"`` (the GPU when the runtime has one, else the CPU) or an explicit device.
        dpi: figure resolution (at least 100, where small labels stay sharp).

    Returns:
        :class:`NotebookSetup` (``.source``, ``.device``, ``.seed``, ``.quick``, ``.runtime``).
    """
    resolved = resolve_source(source, assets=tuple(assets)) if assets else _without_assets(source)
    chosen = get_device(device)
    seed_everything(seed)
    plotting_defaults(dpi)
    setup = NotebookSetup(resolved, chosen, seed, bool(quick), runtime())
    if verbose:
        print(setup.status)
    return setup


def _without_assets(source: str | None) -> str:
    """A source for a notebook that declares no online assets: "auto" means offline."""
    from .sources import check_source

    resolved = check_source(source)
    return "offline" if resolved == "auto" else resolved
