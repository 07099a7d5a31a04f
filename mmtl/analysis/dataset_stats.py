"""What is in an image-folder dataset: images per class, sizes, channel statistics."""

import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmtl.datasets.listing import list_class_images
from mmtl.datasets.split import SPLIT_NAMES
from mmtl.datasets.transforms.image_io import decode_image_file, open_image_file

#: ImageNet statistics (RGB, 0-255) that mmpretrain's pretrained weights were trained with.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def list_split_images(data_root: str) -> Dict[str, Dict[str, List[str]]]:
    """Image files by split and class.

    Args:
        data_root (str): ``<root>/{train,val,test}/<class>/`` or, unsplit, ``<root>/<class>/``.

    Returns:
        dict: ``{split: {class: [paths]}}``; an unsplit root is the one split ``'all'``.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'dataset folder not found: {data_root}')
    splits = [s for s in SPLIT_NAMES if osp.isdir(osp.join(data_root, s))]
    roots = {s: osp.join(data_root, s) for s in splits} or {'all': data_root}
    return {split: list_class_images(root) for split, root in roots.items()}


@dataclass
class Imbalance:
    """Largest over smallest class count of one split, and whether it passes the threshold."""

    ratio: float
    largest: str
    smallest: str
    flagged: bool


def class_imbalance(counts: Dict[str, int], threshold: float = 3.0) -> Imbalance:
    """Compare the largest and the smallest class (an empty class makes the ratio inf).

    Args:
        counts (dict): Class -> number of images.
        threshold (float): Flag when max / min exceeds it. Defaults to 3.

    Returns:
        Imbalance: The ratio and the classes at both ends.
    """
    if not counts:
        raise ValueError('no classes to compare')
    largest = max(counts, key=counts.get)
    smallest = min(counts, key=counts.get)
    low = counts[smallest]
    ratio = counts[largest] / low if low else float('inf')
    return Imbalance(ratio, largest, smallest, ratio > threshold)


def imbalance_remedies(imbalance: Imbalance) -> List[str]:
    """What to set when the training split is imbalanced (empty when it is not flagged).

    Args:
        imbalance (Imbalance): The train split's :func:`class_imbalance`.

    Returns:
        list[str]: Lines of advice naming the config keys.
    """
    if not imbalance.flagged:
        return []
    return [
        f'the training split is imbalanced ({imbalance.largest} has {imbalance.ratio:.1f}x the '
        f'images of {imbalance.smallest}); to keep the small classes from being ignored, train '
        'with one of:',
        '  --cfg-options model.head.loss.class_weight=auto   '
        '(loss weighted by inverse class frequency of the train split)',
        '  --cfg-options train_dataloader.sampler.type=ClassBalancedSampler   '
        '(every class drawn equally often)',
        '  and judge the model by per-class recall / macro averages (report/* in '
        'test_metrics.json), not top-1 alone',
    ]


def image_sizes(paths: Sequence[str]) -> List[Tuple[int, int]]:
    """Upright ``(width, height)`` of each image, from the file header as the loaders read it.

    Raises:
        ImageDecodeError: A file cannot be read (names it).
    """
    return [open_image_file(path).upright_size for path in paths]


def size_summary(sizes: Sequence[Tuple[int, int]], top: int = 5) -> dict:
    """Min / median / max of widths and heights and the most common sizes."""
    widths = np.array([w for w, _ in sizes])
    heights = np.array([h for _, h in sizes])
    return {
        'count': len(sizes),
        'width': (int(widths.min()), float(np.median(widths)), int(widths.max())),
        'height': (int(heights.min()), float(np.median(heights)), int(heights.max())),
        'most_common': Counter(sizes).most_common(top),
    }


def channel_stats(paths: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (RGB, 0-255); every pixel counts once.

    Returns:
        tuple: ``(mean, std)``, each of 3 values in R, G, B order.
    """
    total = np.zeros(3)
    squares = np.zeros(3)
    pixels = 0
    for path in paths:
        image = decode_image_file(path)  # as training reads it: EXIF, alpha, 16-bit, CMYK
        values = image[..., ::-1].reshape(-1, 3).astype(np.float64)
        total += values.sum(axis=0)
        squares += (values**2).sum(axis=0)
        pixels += len(values)
    mean = total / pixels
    return mean, np.sqrt(np.maximum(squares / pixels - mean**2, 0))


def sample_indices(n: int, limit: Optional[int], rng: np.random.Generator) -> List[int]:
    """At most ``limit`` of ``range(n)`` (all when None), ascending; ``rng`` draws them without
    replacement, and draws nothing when all are kept."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted(int(i) for i in rng.choice(n, size=limit, replace=False))


def sample_paths(paths: Sequence[str], limit: Optional[int], seed: int = 0) -> List[str]:
    """At most ``limit`` of ``paths``, chosen at random with ``seed`` (all when None)."""
    return [paths[i] for i in sample_indices(len(paths), limit, np.random.default_rng(seed))]


def plot_dataset_stats(
    counts: Dict[str, Dict[str, int]],
    sizes: Sequence[Tuple[int, int]],
    out_file: Optional[str],
) -> np.ndarray:
    """Draw images per class (one bar group per split) and the image-size scatter.

    Args:
        counts (dict): ``{split: {class: number of images}}``.
        sizes (Sequence[tuple[int, int]]): ``(width, height)`` of the measured images.
        out_file (str, optional): PNG file to write.

    Returns:
        np.ndarray: The rendered figure, ``H x W x 3`` uint8 RGB.
    """
    from mmtl.visualization.figure import new_figure, save_figure

    classes = sorted({name for per_class in counts.values() for name in per_class})
    figure = new_figure((max(8.0, 0.4 * len(classes) + 5), 4.5))
    bars, scatter = figure.subplots(1, 2, gridspec_kw={'width_ratios': [2, 1]})
    positions = np.arange(len(classes))
    width = 0.8 / max(len(counts), 1)
    for idx, (split, per_class) in enumerate(counts.items()):
        values = [per_class.get(name, 0) for name in classes]
        bars.bar(positions + idx * width, values, width, label=split)
    bars.set_xticks(positions + 0.4 - width / 2)
    bars.set_xticklabels(classes, rotation=45 if len(classes) > 8 else 0, ha='right')
    bars.set_ylabel('images')
    bars.set_title('images per class')
    bars.legend()
    if sizes:
        scatter.scatter([w for w, _ in sizes], [h for _, h in sizes], s=8, alpha=0.5)
    scatter.set_xlabel('width (px)')
    scatter.set_ylabel('height (px)')
    scatter.set_title(f'image sizes ({len(sizes)} images)')
    figure.tight_layout()
    return save_figure(figure, out_file)
