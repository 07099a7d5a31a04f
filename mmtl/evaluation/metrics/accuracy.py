"""Top-k accuracy that works for any number of classes."""

from typing import List

from mmengine.logging import MMLogger
from mmpretrain.evaluation.metrics import Accuracy as _MMPretrainAccuracy

from mmtl.registry import METRICS


@METRICS.register_module()
class Accuracy(_MMPretrainAccuracy):
    """mmpretrain's :class:`~mmpretrain.evaluation.Accuracy`, minus top-k values above the
    number of classes.

    The base configs ask for ``topk=(1, 5)``; on a dataset with fewer than 5 classes
    mmpretrain raises. Here such a ``k`` is dropped with a warning (top-5 of 3 classes is
    always 100 % and says nothing), and the remaining values are reported as usual.
    """

    def compute_metrics(self, results: List) -> dict:
        """Drop unusable ``k`` once the class count is known, then compute as usual."""
        if results and 'pred_score' in results[0]:
            num_classes = results[0]['pred_score'].numel()
            usable = tuple(k for k in self.topk if k <= num_classes)
            if usable != tuple(self.topk):
                MMLogger.get_current_instance().warning(
                    f'Accuracy: top-k for k in {sorted(set(self.topk) - set(usable))} skipped: '
                    f'the model has only {num_classes} classes.'
                )
                self.topk = usable or (1,)
        return super().compute_metrics(results)
