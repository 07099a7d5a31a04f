"""Headless matplotlib figures: drawn with the Agg canvas, returned as arrays, saved as PNG."""

from __future__ import annotations

import os
import os.path as osp
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import cv2
import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with mmtl
    from matplotlib.figure import Figure

#: Dots per inch of every figure mmtl draws: a figure of W x H inches is 100 W x 100 H pixels.
DPI = 100

#: File extensions :func:`save_figure` encodes as such; any other name gets PNG data.
IMAGE_FORMATS = ('.png', '.jpg', '.jpeg', '.bmp')


def new_figure(size_inches: Tuple[float, float]) -> Figure:
    """A figure of ``size_inches`` (``DPI`` pixels each) on an Agg canvas: no display and no
    pyplot state involved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size_inches, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def render(figure: Figure) -> np.ndarray:
    """Draw a figure from :func:`new_figure` into an ``H x W x 3`` uint8 RGB array."""
    canvas = figure.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(figure: Figure, out_file: Optional[str]) -> np.ndarray:
    """Render a figure and, when ``out_file`` is given, write it (see :data:`IMAGE_FORMATS`).

    Args:
        figure (Figure): A figure from :func:`new_figure`.
        out_file (str, optional): The image file to write; folders are created.

    Returns:
        np.ndarray: The rendered image, ``H x W x 3`` uint8 RGB (what the file holds).
    """
    image = render(figure)
    if out_file:
        folder = osp.dirname(osp.abspath(out_file))
        os.makedirs(folder, exist_ok=True)
        ext = osp.splitext(out_file)[1].lower()
        _, data = cv2.imencode(
            ext if ext in IMAGE_FORMATS else '.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        )
        with open(out_file, 'wb') as f:
            f.write(data.tobytes())
    return image


def file_caption(path: str, limit: int = 24) -> str:
    """A file's name for a figure caption, shortened in the middle and shown as plain text
    (characters that do not print become ``?``; ``$`` would start matplotlib's math mode).

    Args:
        path (str): The file.
        limit (int): Longest caption. Defaults to 24 characters.

    Returns:
        str: E.g. ``'IMG_2041.JPG'`` or ``'a_very_long_f…name_01.png'``.
    """
    name = ''.join(c if c.isprintable() else '?' for c in osp.basename(path))
    if len(name) > limit:
        name = name[: limit // 2 - 1] + '…' + name[-(limit // 2) :]
    return name.replace('$', r'\$')


def grid_shape(count: int, max_cols: int = 8) -> Tuple[int, int]:
    """The ``(rows, cols)`` of a near-square grid of ``count`` panels, at most ``max_cols``
    a row."""
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
        cell_px (int): Side of a panel in pixels. Defaults to 128.
        max_cols (int): Most panels per row. Defaults to 8.
        cmap (str): Colour map of single-channel panels. Defaults to ``'gray'``.
        title (str, optional): Title above the grid. Defaults to None.

    Returns:
        Figure: ``cols * cell_px`` pixels wide and ``rows * cell_px`` high.
    """
    rows, cols = grid_shape(len(images), max_cols)
    figure = new_figure((cols * cell_px / DPI, rows * cell_px / DPI))
    for idx in range(rows * cols):
        axes = figure.add_subplot(rows, cols, idx + 1)
        axes.axis('off')
        if idx < len(images):
            axes.imshow(images[idx], cmap=None if images[idx].ndim == 3 else cmap)
            axes.set_title(titles[idx], fontsize=8)
    top = 1.0
    if title:
        figure.suptitle(title, fontsize=9)
        top = 1 - 0.25 / (rows * cell_px / DPI)  # a quarter inch for the title
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, top))
    return figure
