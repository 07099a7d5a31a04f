"""Headless matplotlib figures: drawn with the Agg canvas, returned as arrays, saved as PNG."""

from __future__ import annotations

import os
import os.path as osp
from typing import TYPE_CHECKING, Optional, Tuple

import cv2
import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with mmtl
    from matplotlib.figure import Figure

#: Dots per inch of every figure mmtl draws: a figure of W x H inches is 100 W x 100 H pixels.
DPI = 100


def new_figure(size_inches: Tuple[float, float]) -> Figure:
    """A figure on an Agg canvas: no display and no pyplot state involved.

    Args:
        size_inches (tuple[float, float]): Width and height in inches (``DPI`` pixels each).

    Returns:
        Figure: The figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size_inches, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def render(figure: Figure) -> np.ndarray:
    """Draw a figure into an RGB array.

    Args:
        figure (Figure): A figure from :func:`new_figure`.

    Returns:
        np.ndarray: ``H x W x 3`` uint8, RGB.
    """
    canvas = figure.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(figure: Figure, out_file: Optional[str]) -> np.ndarray:
    """Render a figure and, when ``out_file`` is given, write it as a PNG (or JPEG) file.

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
        if not cv2.imwrite(out_file, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f'could not write the image file {out_file}')
    return image
