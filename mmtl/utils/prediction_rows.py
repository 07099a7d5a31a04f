"""Rows of per-image predictions for ``test.py --out``, ``infer.py`` and the ONNX runner, and
:func:`safe_text`, the one rule by which names from outside are written to CSV, JSON and
terminals. Imports only the standard library and numpy (the ONNX runner loads it by path).
"""

import csv
import json
import re
from typing import Any, List, Optional, Sequence, TextIO

import numpy as np

#: Characters shown escaped: C0 and C1 controls and DEL (escape sequences, tab, newline,
#: carriage return, NEL), the Unicode line and paragraph separators, the bidirectional
#: marks, embeddings, overrides and isolates (text that reads in another order than it
#: is), and lone surrogates (the bytes of a file name that is not valid UTF-8).
UNSAFE_CHARS = re.compile(
    '[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]'
)

#: The usual short forms of escaped characters.
_SHORT_ESCAPES = {'\t': '\\t', '\n': '\\n', '\r': '\\r'}

#: First characters that make a spreadsheet cell a formula (ASCII and full-width forms).
FORMULA_PREFIXES = ('=', '+', '-', '@', '\uff1d', '\uff0b', '\uff0d', '\uff20')


def _escape_char(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name, as Python keeps it
        return f'\\x{code - 0xDC00:02x}'
    return f'\\x{code:02x}' if code < 0x100 else f'\\u{code:04x}'


def safe_text(value: Any) -> str:
    """``value`` as text that cannot act when written to a CSV, JSON or terminal.

    Control characters (:data:`UNSAFE_CHARS`) are shown escaped (``\\x1b``, ``\\t``,
    ``\\u202e``), so a name can neither forge a row nor reach the terminal; text starting
    with ``= + - @`` gets a leading ``'``, so a spreadsheet does not run it as a formula.

    Args:
        value: A class name, a file name or any other text from outside.

    Returns:
        str: The text to write.
    """
    text = UNSAFE_CHARS.sub(_escape_char, str(value))
    if text.lstrip(' ').startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


def safe_row(row: Any) -> Any:
    """``row`` with every string in it (nested dicts and lists too) through :func:`safe_text`."""
    if isinstance(row, str):
        return safe_text(row)
    if isinstance(row, dict):
        return {key: safe_row(value) for key, value in row.items()}
    if isinstance(row, (list, tuple)):
        return [safe_row(value) for value in row]
    return row


def check_class_count(classes: Optional[Sequence[str]], num_outputs: int, source: str) -> None:
    """Refuse class names that do not name every output of the model.

    Args:
        classes (Sequence[str], optional): Class names by label; None (no names) passes.
        num_outputs (int): Scores the model gives per image.
        source (str): Where the names come from, for the message.

    Raises:
        ValueError: Fewer names than outputs (one line, both counts).
    """
    if classes is not None and len(classes) < num_outputs:
        raise ValueError(
            f'{source} names {len(classes)} classes for a model that scores {num_outputs}: '
            'give one name per output'
        )


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

    Raises:
        ValueError: ``classes`` has fewer names than there are scores.
    """
    check_class_count(classes or None, len(scores), 'the class list')
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


def is_json_path(path: str) -> bool:
    """Whether predictions for ``path`` are written as JSON (``.json``), else CSV."""
    return path.lower().endswith('.json')


def dump_rows(rows: List[dict], file: TextIO, as_json: bool) -> None:
    """Write prediction rows to an open text file: a JSON list, or CSV with the top-k list
    as ``top1_class``, ``top1_score``, ... columns. Every name goes through :func:`safe_text`.

    Args:
        rows (list[dict]): Prediction rows (:func:`inference_row` or ``tools/test.py``'s).
        file (TextIO): Where to write (the caller opens it, atomically or not).
        as_json (bool): JSON instead of CSV.
    """
    rows = [safe_row(row) for row in rows]
    if as_json:
        json.dump(rows, file, indent=2)
        return
    flat = []
    for row in rows:
        flat.append({key: value for key, value in row.items() if key != 'topk'})
        for rank, entry in enumerate(row['topk'], start=1):
            flat[-1][f'top{rank}_class'] = entry['class']
            flat[-1][f'top{rank}_score'] = entry['score']
    writer = csv.DictWriter(file, fieldnames=list(flat[0]) if flat else ['image'])
    writer.writeheader()
    writer.writerows(flat)
