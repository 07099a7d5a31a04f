"""The user's train/val data as the advisor sees it: class counts, sizes, val overlap."""

import hashlib
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from torch.utils.data import Subset

from mmtl.analysis.dataset_stats import (
    class_imbalance,
    image_sizes,
    sample_indices,
    sample_paths,
    size_summary,
)
from mmtl.datasets.class_counts import class_counts, dataset_labels
from mmtl.datasets.transforms.image_io import ImageDecodeError, decode_image_file


def cap_per_class(labels: np.ndarray, limit: Optional[int], seed: int = 0) -> List[int]:
    """Indices keeping at most ``limit`` random samples of each class (all when None)."""
    rng = np.random.default_rng(seed)
    keep: List[int] = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        keep.extend(int(members[i]) for i in sample_indices(len(members), limit, rng))
    return sorted(keep)


@dataclass
class DataProfile:
    """What the advisor measured about the data."""

    classes: List[str]
    train_counts: List[int]
    val_images: int
    imbalance_ratio: float
    imbalance_flagged: bool
    sizes: Dict[str, object] = field(default_factory=dict)

    @property
    def train_images(self) -> int:
        """Training images in all."""
        return int(sum(self.train_counts))

    @property
    def median_per_class(self) -> float:
        """Median training images per class."""
        return float(np.median(self.train_counts))


def profile_data(train_set, val_set, size_sample: int = 200) -> Tuple[DataProfile, np.ndarray]:
    """Images per class, imbalance (largest / smallest class) and image sizes.

    Args:
        train_set: The built train dataset.
        val_set: The built val dataset.
        size_sample (int): Training images whose size is read. Defaults to 200.

    Returns:
        tuple: ``(DataProfile, train labels)``.
    """
    labels = dataset_labels(train_set)
    classes = [str(c) for c in (train_set.metainfo.get('classes') or [])]
    classes = classes or [str(i) for i in range(int(labels.max()) + 1)]
    counts = class_counts(labels, len(classes))
    imbalance = class_imbalance(dict(zip(classes, counts.tolist())))
    paths = [train_set.get_data_info(i).get('img_path') for i in range(len(train_set))]
    paths = [p for p in paths if p]
    sizes = size_summary(image_sizes(sample_paths(paths, size_sample))) if paths else {}
    profile = DataProfile(
        classes=classes,
        train_counts=[int(c) for c in counts],
        val_images=len(val_set),
        imbalance_ratio=float(imbalance.ratio),
        imbalance_flagged=bool(imbalance.flagged),
        sizes=sizes,
    )
    return profile, labels


def _pixel_digest(path: str) -> Optional[str]:
    """A hash of an image's pixels as training decodes them (None when it cannot be read)."""
    try:
        image = decode_image_file(path)
    except ImageDecodeError:
        return None
    return hashlib.sha1(str(image.shape).encode() + image.tobytes()).hexdigest()


def _image_paths(dataset) -> List[str]:
    """The image paths of a dataset (or of a :class:`Subset` of one)."""
    base, indices = dataset, None
    if isinstance(dataset, Subset):
        base, indices = dataset.dataset, dataset.indices
    indices = range(len(base)) if indices is None else indices
    return [str(base.get_data_info(int(i)).get('img_path', '')) for i in indices]


def val_overlap(train_set, val_set) -> int:
    """How many val images are training images: the same file, or the same pixels.

    Args:
        train_set: The training dataset (or a subset of it).
        val_set: The val dataset (or a subset of it).

    Returns:
        int: Val images found among the training images.
    """
    train_paths = _image_paths(train_set)
    real = {osp.realpath(p) for p in train_paths if p}
    val_paths = _image_paths(val_set)
    left = [p for p in val_paths if p and osp.realpath(p) not in real]
    overlap = len(val_paths) - len(left)
    if left:
        digests = {_pixel_digest(p) for p in train_paths if p} - {None}
        overlap += sum(_pixel_digest(p) in digests for p in left)
    return overlap
