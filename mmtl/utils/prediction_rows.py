"""Rows of per-image predictions, shared by ``tools/test.py --out``, ``tools/infer.py`` and
``tools/deployment/onnx_infer.py``.

Only the standard library and numpy are imported, so the ONNX runner can load this file by path
without importing the ``mmtl`` package (and with it torch and mmengine).
"""

import csv
import json
from typing import List, Optional, Sequence, TextIO

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


def inference_row(result: dict, topk: int, classes: Optional[Sequence[str]] = None) -> dict:
    """One row of an inference result (``inference_model`` or the ONNX runner).

    Args:
        result (dict): ``pred_scores``, ``pred_label``, ``pred_score`` and optionally
            ``pred_class`` and ``img_path``.
        topk (int): Classes listed.
        classes (Sequence[str], optional): Class names by label.

    Returns:
        dict: ``image``, ``pred_label``, ``pred_class``, ``pred_score`` and ``topk``.
    """
    return {
        'image': result.get('img_path', ''),
        'pred_label': int(result['pred_label']),
        'pred_class': result.get('pred_class', str(result['pred_label'])),
        'pred_score': round(float(result['pred_score']), 6),
        'topk': topk_entries(result['pred_scores'], topk, classes),
    }


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


def is_json_path(path: str) -> bool:
    """Whether predictions for ``path`` are written as JSON (``.json``), else CSV."""
    return path.lower().endswith('.json')


def dump_rows(rows: List[dict], file: TextIO, as_json: bool) -> None:
    """Write prediction rows to an open text file: a JSON list, or CSV with the top-k list as
    ``top1_class``, ``top1_score``, ... columns (:func:`flatten_topk`).

    Args:
        rows (list[dict]): Prediction rows (:func:`inference_row` or ``tools/test.py``'s).
        file (TextIO): Where to write (the caller opens it, atomically or not).
        as_json (bool): JSON instead of CSV.
    """
    if as_json:
        json.dump(rows, file, indent=2)
        return
    flat = [flatten_topk(row) for row in rows]
    writer = csv.DictWriter(file, fieldnames=list(flat[0]) if flat else ['image'])
    writer.writeheader()
    writer.writerows(flat)
