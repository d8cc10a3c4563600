"""Reading figures back from TensorBoard event files (so a notebook can show them inline, and tests can check them).

``add_figure`` stores a figure as a PNG image summary; :func:`read_logged_figures` finds every event file under a
log folder, decodes the images whose tag starts with a prefix and returns them in the order they were logged.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import NamedTuple

import numpy as np


class LoggedFigure(NamedTuple):
    """tag, global step, wall time (seconds) and the picture as ``(H, W, 3)`` uint8 RGB."""
    tag: str
    step: int
    wall_time: float
    image: np.ndarray


def event_files(log_dir: str | Path) -> list[Path]:
    """Every TensorBoard event file under ``log_dir`` (recursively), sorted by path."""
    root = Path(log_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"log_dir: {root} is not a folder (expected a TensorBoard log folder).")
    return sorted(p for p in root.rglob("events.out.tfevents.*") if p.is_file())


def read_logged_figures(log_dir: str | Path, tag_prefix: str = "") -> list[LoggedFigure]:
    """All image summaries under ``log_dir`` whose tag starts with ``tag_prefix``, by wall time then tag.

    Every image of every tag is kept (TensorBoard's default keeps only a sample of 4 per tag).
    """
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    found = []
    for path in event_files(log_dir):
        acc = EventAccumulator(str(path), size_guidance={IMAGES: 0})
        acc.Reload()
        for tag in acc.Tags().get(IMAGES, []):
            if not tag.startswith(tag_prefix):
                continue
            for event in acc.Images(tag):
                with Image.open(io.BytesIO(event.encoded_image_string)) as img:
                    rgb = np.asarray(img.convert("RGB"))
                found.append(LoggedFigure(tag, int(event.step), float(event.wall_time), rgb))
    return sorted(found, key=lambda f: (f.wall_time, f.tag))


def show_logged_figures(figures: list[LoggedFigure], max_figures: int = 4, columns: int = 2):
    """The first ``max_figures`` logged figures side by side (tags as titles); returns the figure."""
    import matplotlib.pyplot as plt

    shown = figures[:max_figures]
    if not shown:
        raise ValueError("show_logged_figures: no figures to show (did the callback log any? See its `logged`).")
    columns = min(columns, len(shown))
    rows = -(-len(shown) // columns)
    # Shown at the logged pixel size (100 dpi): no resampling, so the logged text stays sharp.
    height = max(f.image.shape[0] for f in shown) / 100 + 0.3
    width = max(f.image.shape[1] for f in shown) / 100
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False,
                             layout="constrained", dpi=100)
    for ax in axes.flat:
        ax.axis("off")
    for ax, f in zip(axes.flat, shown):
        ax.imshow(f.image, interpolation="antialiased")
        ax.set_title(f"{f.tag} (step {f.step})", fontsize=9)
    return fig
