"""Per-class precision, recall, F1 and support, with class names and macro/micro averages."""

from typing import List, Optional

import torch
from mmpretrain.evaluation.metrics import SingleLabelMetric

from mmtl.registry import METRICS

from .score_metric import ScoreMetric, class_names_from_meta


@METRICS.register_module()
class ClassificationReport(ScoreMetric):
    """Precision, recall and F1 of every class (top-1 prediction), and their averages.

    The numbers come from mmpretrain's :meth:`SingleLabelMetric.calculate` and are
    percentages, like mmpretrain's. A class that is never predicted has precision 0; a
    class without test images has recall 0 (as scikit-learn's ``zero_division=0``).

    Reported (with the default prefix ``report``):

    - ``classes``: the class names, in label order;
    - ``precision``, ``recall``, ``f1``: one value per class (lists);
    - ``support``: the number of test images of each class (list of ints);
    - ``macro_precision``, ``macro_recall``, ``macro_f1``: unweighted means over classes;
    - ``micro_precision``, ``micro_recall``, ``micro_f1``: from the summed counts; for
      single-label data all three equal top-1 accuracy.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'report'``.
    """

    default_prefix: Optional[str] = 'report'

    def compute_metrics(self, results: List[dict]) -> dict:
        """Compute the per-class values and the averages.

        Args:
            results (list[dict]): Scores and labels of all test samples.

        Returns:
            dict: The values listed in the class docstring.
        """
        scores, labels = self.stack(results)
        num_classes = scores.shape[1]
        pred = torch.from_numpy(scores.argmax(axis=1))
        target = torch.from_numpy(labels)
        precision, recall, f1, support = SingleLabelMetric.calculate(
            pred, target, average=None, num_classes=num_classes
        )
        micro_p, micro_r, micro_f1, _ = SingleLabelMetric.calculate(
            pred, target, average='micro', num_classes=num_classes
        )
        return {
            'classes': class_names_from_meta(self.dataset_meta, num_classes),
            'precision': precision.tolist(),
            'recall': recall.tolist(),
            'f1': f1.tolist(),
            'support': [int(n) for n in support.tolist()],
            'macro_precision': precision.mean().item(),
            'macro_recall': recall.mean().item(),
            'macro_f1': f1.mean().item(),
            'micro_precision': micro_p.item(),
            'micro_recall': micro_r.item(),
            'micro_f1': micro_f1.item(),
        }
