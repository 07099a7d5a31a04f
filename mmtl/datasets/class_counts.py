"""Class labels and class frequencies of a built dataset."""

from typing import List, Sequence

import numpy as np


def dataset_labels(dataset) -> np.ndarray:
    """The class index of every sample of a dataset, in dataset order: ``get_gt_labels()``
    (mmpretrain's ``BaseDataset``), else ``get_cat_ids(i)`` (mmengine's wrappers).

    Raises:
        TypeError: The dataset offers neither method.
    """
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64).reshape(-1)
    if hasattr(dataset, 'get_cat_ids'):
        labels = [dataset.get_cat_ids(i) for i in range(len(dataset))]
        return np.asarray([int(np.asarray(ids).reshape(-1)[0]) for ids in labels], np.int64)
    raise TypeError(
        f'{type(dataset).__name__} has neither get_gt_labels() nor get_cat_ids(): '
        'cannot count its classes'
    )


def class_counts(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """Samples per class: ``num_classes`` int64 counts of ``labels`` (0 for a class without
    samples)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f'labels must lie in [0, {num_classes}); got {labels.min()}..{labels.max()}'
        )
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def inverse_frequency_weights(counts: Sequence[int]) -> List[float]:
    """Class weights ``N / (C * n_c)`` (scikit-learn's ``class_weight='balanced'``): the
    weighted loss keeps the unweighted one's average scale, and every class contributes the
    same total weight. A class without samples gets weight 0.

    Args:
        counts (Sequence[int]): Samples per class.

    Returns:
        list[float]: One weight per class.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if not present.any():
        raise ValueError('no samples: cannot compute class weights')
    total = counts.sum()
    weights = np.zeros_like(counts)
    weights[present] = total / (len(counts) * counts[present])
    return [float(w) for w in weights]
