"""scikit-learn's handwritten digits written as an image-folder dataset (real data, offline)."""

import json
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

from .split import SPLIT_NAMES, stratified_split


def write_digits_folder(
    out_dir: str,
    ratios: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    keep: Sequence[int] = tuple(range(10)),
) -> Dict[str, int]:
    """Write ``out_dir/{train,val,test}/<digit>/<index>.png`` with a stratified split.

    Also writes ``classes.txt`` (the kept digits, in label order) and ``split.json`` (how
    the split was made).

    Args:
        out_dir (str): Output folder.
        ratios (Sequence[float]): Train/val/test sizes. Defaults to 0.6/0.2/0.2.
        seed (int): Seed of the split. Defaults to 0.
        keep (Sequence[int]): Digits to write. Defaults to all ten.

    Returns:
        dict: Number of images per split.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    mask = np.isin(digits.target, list(keep))
    # 16 grey levels stretched to 0..255; each file named by its index in load_digits().
    images = np.round(digits.images[mask] * (255.0 / 16.0)).astype(np.uint8)
    labels, indices = digits.target[mask], np.flatnonzero(mask)
    classes = [str(d) for d in sorted(set(keep))]
    counts = {}
    # Each class rounds on its own: the split the documented figures use.
    parts = stratified_split(labels, ratios, seed, spread_remainders=False)
    for split, part in zip(SPLIT_NAMES, parts):
        for i in part:
            folder = osp.join(out_dir, split, str(labels[i]))
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{indices[i]:04d}.png')
            if not cv2.imwrite(path, images[i]):
                raise OSError(f'could not write {path}')
        counts[split] = len(part)
    with open(osp.join(out_dir, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    with open(osp.join(out_dir, 'split.json'), 'w', encoding='utf-8') as f:
        record = {
            'source': 'sklearn.datasets.load_digits',
            'ratios': list(ratios),
            'seed': seed,
            'digits': classes,
            'counts': counts,
        }
        json.dump(record, f, indent=2)
    return counts
