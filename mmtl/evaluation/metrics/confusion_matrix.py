"""The confusion matrix with class names, as JSON-ready counts."""

from typing import List, Optional

import torch
from mmpretrain.evaluation.metrics import ConfusionMatrix as _MMPretrainConfusionMatrix

from mmtl.registry import METRICS

from .score_metric import class_names_from_meta


@METRICS.register_module()
class ConfusionMatrix(_MMPretrainConfusionMatrix):
    """mmpretrain's :class:`~mmpretrain.evaluation.ConfusionMatrix`, labelled.

    Reported (with the default prefix ``confusion_matrix``):

    - ``counts``: ``C x C`` integers; row ``i`` is the true class ``i``, column ``j`` the
      predicted (top-1) class ``j``, so the matrix sums to the number of test images;
    - ``classes``: the class names, in label order.

    Args:
        num_classes (int, optional): Needed only when samples carry labels, not scores.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'confusion_matrix'``.
    """

    default_prefix: Optional[str] = 'confusion_matrix'

    def compute_metrics(self, results: List[dict]) -> dict:
        """Count (true, predicted) pairs.

        Args:
            results (list[dict]): Predicted and true labels of all test samples.

        Returns:
            dict: ``counts`` (a tensor, logged as a matrix) and ``classes``.
        """
        counts: torch.Tensor = super().compute_metrics(results)['result']
        return {
            'counts': counts,
            'classes': class_names_from_meta(self.dataset_meta, counts.shape[0]),
        }
