"""An image next to its top-k predicted classes and scores."""

from typing import Optional, Sequence

import numpy as np

from mmtl.utils.prediction_rows import check_class_count

from .figure import new_figure, save_figure

#: Size of the drawing in inches (``DPI`` = 100 pixels each): 800 x 400 pixels.
PREDICTION_FIGSIZE = (8.0, 4.0)


def draw_prediction(
    image_rgb: np.ndarray,
    scores: np.ndarray,
    classes: Optional[Sequence[str]] = None,
    topk: int = 5,
    title: Optional[str] = None,
    out_file: Optional[str] = None,
) -> np.ndarray:
    """Draw an image (left) and a bar chart of its ``topk`` classes and scores (right).

    Args:
        image_rgb (np.ndarray): ``H x W x 3`` RGB or ``H x W`` grey image.
        scores (np.ndarray): The scores of all classes.
        classes (Sequence[str], optional): Class names; indices are shown without them.
        topk (int): How many classes to list. Defaults to 5 (fewer if there are fewer).
        title (str, optional): Title above the image, e.g. the file name.
        out_file (str, optional): Write the drawing to this PNG file.

    Returns:
        np.ndarray: The drawing, ``400 x 800 x 3`` uint8 RGB.
    """
    scores = np.asarray(scores, dtype=np.float64)
    check_class_count(classes, len(scores), 'the class names')
    names = list(classes) if classes is not None else [str(i) for i in range(len(scores))]
    order = np.argsort(-scores, kind='stable')[: max(1, min(topk, len(scores)))]

    figure = new_figure(PREDICTION_FIGSIZE)
    image_axes = figure.add_axes((0.02, 0.05, 0.45, 0.82))
    small = max(image_rgb.shape[:2]) < 64  # show tiny images as crisp pixels
    image_axes.imshow(
        image_rgb,
        cmap='gray' if image_rgb.ndim == 2 else None,
        interpolation='nearest' if small else 'antialiased',
    )
    image_axes.set_axis_off()
    best = order[0]
    image_axes.set_title(
        (f'{title}\n' if title else '') + f'{names[best]}: {scores[best]:.3f}', fontsize=11
    )

    bar_axes = figure.add_axes((0.62, 0.12, 0.34, 0.75))
    positions = np.arange(len(order))[::-1]
    bar_axes.barh(positions, scores[order], color='tab:blue')
    bar_axes.set_yticks(positions, [names[i] for i in order])
    bar_axes.set_xlim(0.0, 1.0)
    bar_axes.set_xlabel('score')
    bar_axes.set_title(f'top-{len(order)}', fontsize=11)
    for position, index in zip(positions, order):
        bar_axes.text(
            min(scores[index] + 0.02, 0.80), position, f'{scores[index]:.3f}', va='center'
        )
    return save_figure(figure, out_file)
