"""Headless plotting helpers: figures drawn with matplotlib's Agg canvas, saved as PNG."""

from __future__ import annotations

import os
import os.path as osp
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with mmtl
    from matplotlib.figure import Figure


def new_figure(width_in: float, height_in: float, dpi: int = 100) -> Figure:
    """A figure on the Agg canvas (no display needed, pyplot's global state untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str) -> str:
    """Write ``figure`` to ``path`` (PNG), creating the folder; returns the path."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(path, format='png')
    return path


def grid_shape(count: int, max_cols: int = 8) -> Tuple[int, int]:
    """``(rows, cols)`` of a near-square grid for ``count`` panels with at most ``max_cols``."""
    cols = max(1, min(max_cols, int(np.ceil(np.sqrt(count)))))
    return int(np.ceil(count / cols)), cols


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    cell_px: int = 128,
    max_cols: int = 8,
    cmap: str = 'gray',
    title: Optional[str] = None,
) -> Figure:
    """A figure with one panel per image (RGB ``HxWx3`` uint8 or single-channel ``HxW``).

    Args:
        images (Sequence[np.ndarray]): The panels.
        titles (Sequence[str]): One title per panel.
        cell_px (int): Side of a panel in pixels at 100 dpi. Defaults to 128.
        max_cols (int): Most panels per row. Defaults to 8.
        cmap (str): Colour map of single-channel panels. Defaults to ``'gray'``.
        title (str, optional): Title above the grid. Defaults to None.

    Returns:
        Figure: ``cols * cell_px`` pixels wide and ``rows * cell_px`` high.
    """
    rows, cols = grid_shape(len(images), max_cols)
    figure = new_figure(cols * cell_px / 100, rows * cell_px / 100)
    for idx in range(rows * cols):
        axes = figure.add_subplot(rows, cols, idx + 1)
        axes.axis('off')
        if idx < len(images):
            axes.imshow(images[idx], cmap=None if images[idx].ndim == 3 else cmap)
            axes.set_title(titles[idx], fontsize=8)
    top = 1.0
    if title:
        figure.suptitle(title, fontsize=9)
        top = 1 - 0.25 / (rows * cell_px / 100)  # a quarter inch for the title
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, top))
    return figure
