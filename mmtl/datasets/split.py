"""Stratified, seeded train/val/test splits of labelled samples and of image folders."""

import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence

import numpy as np

from .listing import list_class_images

SPLIT_NAMES = ('train', 'val', 'test')


def stratified_split(
    labels: Sequence[int], ratios: Sequence[float], seed: int = 0, spread_remainders: bool = True
) -> List[List[int]]:
    """Split sample indices so that every part keeps each class's share.

    Each class is shuffled with ``seed`` and cut by ``ratios``; every class with at least as
    many samples as parts puts one in each part. The samples left over by rounding go to the
    parts furthest below their share so far (ties to the earlier part); with
    ``spread_remainders=False`` each class rounds on its own, favouring the first parts.

    Args:
        labels (Sequence[int]): The label of each sample.
        ratios (Sequence[float]): Relative part sizes, e.g. ``(0.7, 0.15, 0.15)``.
        seed (int): Seed of the shuffle. Defaults to 0.
        spread_remainders (bool): Spread the rounding over the parts across classes.
            Defaults to True.

    Returns:
        list[list[int]]: Sorted sample indices of each part.
    """
    ratios = np.asarray(ratios, dtype=float)
    if ratios.ndim != 1 or len(ratios) == 0 or (ratios < 0).any() or ratios.sum() <= 0:
        raise ValueError(f'ratios must be non-negative and sum to more than 0, got {ratios}')
    ratios = ratios / ratios.sum()
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: List[List[int]] = [[] for _ in ratios]
    deficit = np.zeros(len(ratios))
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        counts = _part_sizes(len(indices), ratios, deficit)
        if spread_remainders:
            deficit += ratios * len(indices) - counts
        for part, chunk in zip(parts, np.split(indices, np.cumsum(counts)[:-1])):
            part.extend(chunk.tolist())
    return [sorted(part) for part in parts]


def _part_sizes(total: int, ratios: np.ndarray, deficit: np.ndarray) -> np.ndarray:
    """Integer part sizes summing to ``total`` for normalised ``ratios``, the remainders to
    the parts with the largest ``deficit`` (how far each is below its share so far)."""
    sizes = np.floor(ratios * total).astype(int)
    if total >= np.count_nonzero(ratios):
        sizes[(sizes == 0) & (ratios > 0)] = 1
    while sizes.sum() > total:
        sizes[np.argmax(sizes)] -= 1
    remainders = ratios * total - sizes + deficit
    for idx in np.argsort(-remainders, kind='stable')[: total - sizes.sum()]:
        sizes[idx] += 1
    return sizes


def split_image_folder(
    src: str,
    dst: str,
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    mode: str = 'copy',
) -> Dict[str, Dict[str, int]]:
    """Split a one-folder-per-class directory into ``dst/{train,val,test}/<class>/``.

    Args:
        src (str): Folder with one sub-folder of images per class.
        dst (str): Output folder; must not hold a previous split.
        ratios (Sequence[float]): Sizes of train, val (and test). Defaults to 0.7/0.15/0.15.
        seed (int): Seed of the stratified shuffle. Defaults to 0.
        mode (str): ``'copy'``, ``'symlink'`` or ``'hardlink'``. Defaults to ``'copy'``.

    Returns:
        dict: ``{split: {class: number of images}}``.
    """
    place = {'copy': shutil.copy2, 'symlink': _symlink, 'hardlink': os.link}
    if mode not in place:
        raise ValueError(f'mode must be one of {sorted(place)}, got {mode!r}')
    if len(ratios) > len(SPLIT_NAMES):
        raise ValueError(f'at most {len(SPLIT_NAMES)} ratios (train, val, test), got {ratios}')
    for split in SPLIT_NAMES[: len(ratios)]:
        if osp.exists(osp.join(dst, split)):
            raise FileExistsError(f'{osp.join(dst, split)} exists; choose an empty output folder')
    per_class = list_class_images(src)
    classes, files, labels = list(per_class), [], []
    for label, class_files in enumerate(per_class.values()):
        files.extend(class_files)
        labels.extend([label] * len(class_files))
    if not files:
        raise RuntimeError(f'no images found in the class folders of {src!r}')
    counts: Dict[str, Dict[str, int]] = {}
    for split, indices in zip(SPLIT_NAMES, stratified_split(labels, ratios, seed)):
        counts[split] = {name: 0 for name in classes}
        for idx in indices:
            name = classes[labels[idx]]
            target = osp.join(dst, split, name, osp.relpath(files[idx], osp.join(src, name)))
            os.makedirs(osp.dirname(target), exist_ok=True)
            place[mode](files[idx], target)
            counts[split][name] += 1
    return counts


def _symlink(src: str, dst: str) -> None:
    os.symlink(osp.abspath(src), dst)
