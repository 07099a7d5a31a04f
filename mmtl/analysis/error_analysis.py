"""Where a classifier goes wrong: its surest mistakes, its least sure hits, confused pairs.

Reads the per-image predictions that ``tools/test.py --out preds.csv|preds.json`` writes.
"""

import csv
import json
import math
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from mmtl.datasets.transforms.image_io import ImageDecodeError, decode_image_file
from mmtl.utils.prediction_rows import safe_text


@dataclass
class Prediction:
    """One test image's prediction."""

    image: str
    gt_class: str
    pred_class: str
    pred_score: float

    @property
    def correct(self) -> bool:
        """Whether the predicted class is the true one."""
        return self.gt_class == self.pred_class


def read_predictions(path: str) -> List[Prediction]:
    """Read a predictions file of ``tools/test.py --out``.

    Args:
        path (str): ``.csv`` or ``.json`` file.

    Returns:
        list[Prediction]: In file order.

    Raises:
        ValueError: The file lacks a column, naming it and the file.
    """
    if osp.splitext(path)[1].lower() == '.json':
        with open(path, encoding='utf-8') as f:
            rows = json.load(f)
    else:
        with open(path, encoding='utf-8', newline='') as f:
            rows = list(csv.DictReader(f))
    predictions = []
    for index, row in enumerate(rows):
        missing = [k for k in ('image', 'gt_class', 'pred_class', 'pred_score') if k not in row]
        if missing:
            raise ValueError(
                f'{path}: row {index + 1} has no {", ".join(missing)} (write the file with '
                'tools/test.py --out, which records the true class)'
            )
        predictions.append(
            Prediction(
                row['image'], str(row['gt_class']), str(row['pred_class']), float(row['pred_score'])
            )
        )
    return predictions


def most_confident_mistakes(predictions: Sequence[Prediction], num: int) -> List[Prediction]:
    """The ``num`` wrong predictions with the highest score, highest first."""
    wrong = [p for p in predictions if not p.correct]
    return sorted(wrong, key=lambda p: -p.pred_score)[:num]


def least_confident_correct(predictions: Sequence[Prediction], num: int) -> List[Prediction]:
    """The ``num`` right predictions with the lowest score, lowest first."""
    right = [p for p in predictions if p.correct]
    return sorted(right, key=lambda p: p.pred_score)[:num]


@dataclass
class ConfusedPair:
    """Images of ``true_class`` predicted as ``pred_class``."""

    true_class: str
    pred_class: str
    count: int
    share: float  # of the images of true_class


def confused_pairs(
    predictions: Sequence[Prediction], num: Optional[int] = None
) -> List[ConfusedPair]:
    """(true, predicted) class pairs of the mistakes, most frequent first.

    Args:
        predictions (Sequence[Prediction]): All test predictions.
        num (int, optional): Keep this many pairs. Defaults to all.

    Returns:
        list[ConfusedPair]: Sorted by count, then share, then names.
    """
    support = Counter(p.gt_class for p in predictions)
    counts = Counter((p.gt_class, p.pred_class) for p in predictions if not p.correct)
    pairs = [ConfusedPair(t, q, n, n / support[t]) for (t, q), n in counts.items()]
    pairs.sort(key=lambda c: (-c.count, -c.share, c.true_class, c.pred_class))
    return pairs[:num] if num is not None else pairs


def format_pairs_table(pairs: Sequence[ConfusedPair]) -> str:
    """The confused pairs as a markdown table."""
    lines = [
        '| true class | predicted as | images | share of the true class |',
        '|---|---|---:|---:|',
    ]
    lines += [
        f'| {safe_text(p.true_class)} | {safe_text(p.pred_class)} | {p.count} | '
        f'{100 * p.share:.1f} % |'
        for p in pairs
    ]
    return '\n'.join(lines)


def draw_gallery(
    predictions: Sequence[Prediction], title: str, out_file: str, columns: int = 4
) -> int:
    """A PNG grid of images, each captioned with its file name, true and predicted class, score.

    Args:
        predictions (Sequence[Prediction]): The images to show, in order.
        title (str): The figure title.
        out_file (str): PNG file to write.
        columns (int): Images per row. Defaults to 4.

    Returns:
        int: Number of images drawn.
    """
    from mmtl.visualization.figure import file_caption, new_figure, save_figure

    count = len(predictions)
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    figure = new_figure((2.4 * columns, 2.8 * rows + 0.4))
    figure.suptitle(title if count else f'{title}: none', fontsize=10)
    for index, prediction in enumerate(predictions):
        axes = figure.add_subplot(rows, columns, index + 1)
        try:
            image = decode_image_file(prediction.image, short_edge=256)
        except ImageDecodeError:
            image = np.full((32, 32, 3), 127, np.uint8)  # unreadable now: grey placeholder
        axes.imshow(image[..., ::-1])
        axes.set_axis_off()
        colour = 'green' if prediction.correct else 'red'
        axes.set_title(
            f'{file_caption(prediction.image)}\ntrue {prediction.gt_class}\n'
            f'pred {prediction.pred_class} ({prediction.pred_score:.2f})',
            fontsize=8,
            color=colour,
        )
    figure.tight_layout()
    save_figure(figure, out_file)
    return count
