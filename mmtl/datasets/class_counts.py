"""Class labels and class frequencies of a built dataset."""

from typing import List, Sequence

import numpy as np


def dataset_labels(dataset) -> np.ndarray:
    """The class index of every sample of a dataset, in dataset order.

    Uses ``get_gt_labels()`` (mmpretrain's ``BaseDataset``) when the dataset has it, else
    ``get_cat_ids(i)`` for each index (mmengine's wrappers and ``ConcatDataset``).

    Args:
        dataset: A built classification dataset.

    Returns:
        np.ndarray: ``N`` int64 labels.

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
    """Samples per class.

    Args:
        labels (Sequence[int]): Class index of each sample.
        num_classes (int): Number of classes (classes without samples count 0).

    Returns:
        np.ndarray: ``num_classes`` int64 counts.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f'labels must lie in [0, {num_classes}); got {labels.min()}..{labels.max()}'
        )
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def inverse_frequency_weights(counts: Sequence[int]) -> List[float]:
    """Class weights ``N / (C * n_c)``: inverse frequency, normalised to a mean of 1 per sample.

    With these weights ``sum_c n_c * w_c = N``: over the training set the weighted loss has
    the same average scale as the unweighted one (the learning rate keeps its meaning), and
    every class contributes the same total weight ``N / C``. This is scikit-learn's
    ``class_weight='balanced'``. A class without samples gets weight 0 (its weight is never
    used: no sample has its label).

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
