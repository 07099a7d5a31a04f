"""Rows of per-image predictions, shared by ``tools/test.py --out``, ``tools/infer.py`` and
``tools/deployment/onnx_infer.py``.

Only the standard library and numpy are imported, so the ONNX runner can load this file by path
without importing the ``mmtl`` package (and with it torch and mmengine).
"""

from typing import List, Optional, Sequence

import numpy as np


def topk_entries(
    scores: np.ndarray, topk: int, classes: Optional[Sequence[str]] = None
) -> List[dict]:
    """The ``topk`` best classes of one image, best first (ties keep the lower label first).

    Args:
        scores (np.ndarray): The image's class scores, length ``C``.
        topk (int): How many classes to list (at most ``C`` are).
        classes (Sequence[str], optional): Class names by label; labels as text when ``None``.

    Returns:
        list[dict]: ``{'label', 'class', 'score'}`` per listed class.
    """
    order = np.argsort(-np.asarray(scores), kind='stable')[:topk]
    return [
        {
            'label': int(i),
            'class': classes[int(i)] if classes else str(int(i)),
            'score': round(float(scores[i]), 6),
        }
        for i in order
    ]


def flatten_topk(row: dict) -> dict:
    """A row with its ``topk`` list as ``top1_class``, ``top1_score``, ... columns (for CSV).

    Args:
        row (dict): A prediction row with a ``topk`` list of :func:`topk_entries`.

    Returns:
        dict: The row without ``topk``, plus two columns per listed class.
    """
    flat = {key: value for key, value in row.items() if key != 'topk'}
    for rank, entry in enumerate(row['topk'], start=1):
        flat[f'top{rank}_class'] = entry['class']
        flat[f'top{rank}_score'] = entry['score']
    return flat
