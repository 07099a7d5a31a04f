"""A base for metrics computed from every sample's class scores and true label."""

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric


def class_names_from_meta(dataset_meta: Optional[dict], num_classes: int) -> List[str]:
    """Class names from a dataset meta, or ``'0'``, ``'1'``, ... when it has none that fit.

    Args:
        dataset_meta (dict, optional): The dataset's ``metainfo`` (``classes`` key).
        num_classes (int): The number of classes the model scores.

    Returns:
        list[str]: One name per class.
    """
    classes = (dataset_meta or {}).get('classes')
    if classes is not None and len(classes) == num_classes:
        return [str(name) for name in classes]
    return [str(index) for index in range(num_classes)]


class ScoreMetric(BaseMetric):
    """Collects ``pred_score`` (all classes) and ``gt_label`` of each sample.

    Subclasses implement :meth:`compute_metrics` on the arrays from :meth:`stack`.
    """

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the scores and the true label of each sample of a batch.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's outputs, with ``pred_score`` and
                ``gt_label``.
        """
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise KeyError(
                    f'{type(self).__name__} needs the scores of all classes (pred_score) '
                    f'in each data sample; got keys {sorted(sample)}'
                )
            self.results.append(
                {
                    'pred_score': sample['pred_score'].detach().cpu().float(),
                    'gt_label': sample['gt_label'].detach().cpu().reshape(-1)[:1],
                }
            )

    @staticmethod
    def stack(results: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """The collected results as arrays.

        Args:
            results (list[dict]): What :meth:`process` stored (all ranks).

        Returns:
            tuple: ``scores`` (float64, ``N x C``) and ``labels`` (int64, ``N``).
        """
        scores = np.stack([r['pred_score'].numpy() for r in results]).astype(np.float64)
        labels = np.concatenate([r['gt_label'].numpy() for r in results]).astype(np.int64)
        return scores, labels

    def class_index(self, label: Union[int, str], num_classes: int) -> int:
        """Index of a class given by index or by name.

        Args:
            label (int | str): A class index or a class name.
            num_classes (int): The number of classes.

        Returns:
            int: The index.

        Raises:
            ValueError: ``label`` is no class of this dataset.
        """
        names = class_names_from_meta(self.dataset_meta, num_classes)
        if isinstance(label, str):
            if label not in names:
                raise ValueError(
                    f'{type(self).__name__}: pos_label={label!r} is not a class name; '
                    f'classes are {names}'
                )
            return names.index(label)
        if not 0 <= int(label) < num_classes:
            raise ValueError(
                f'{type(self).__name__}: pos_label={label} is out of range for '
                f'{num_classes} classes'
            )
        return int(label)
