"""A decision threshold for a binary task, with the sensitivity and specificity it gives."""

from typing import List, Optional, Union

import numpy as np
from mmengine.logging import MMLogger

from mmtl.registry import METRICS

from .score_metric import ScoreMetric, class_names_from_meta


def youden_threshold(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold that maximises Youden's J = sensitivity + specificity - 1.

    Args:
        is_positive (np.ndarray): ``N`` booleans, True for positive samples.
        scores (np.ndarray): ``N`` scores of the positive class.

    Returns:
        float: The threshold ``t`` (a sample is positive when its score is ``>= t``); among
        equally good thresholds, the highest.
    """
    from sklearn.metrics import roc_curve  # scikit-learn is imported when a metric runs

    fpr, tpr, thresholds = roc_curve(is_positive, scores, drop_intermediate=False)
    # thresholds[0] is +inf (nothing positive, J = 0); any real threshold is at least as good.
    best = 1 + int(np.argmax(tpr[1:] - fpr[1:]))
    return float(thresholds[best])


@METRICS.register_module()
class BinaryThreshold(ScoreMetric):
    """Pick a threshold on the positive-class score; report sensitivity and specificity.

    Only for two classes: with more, this metric reports nothing (one log line says so),
    so it can stay in a shared test evaluator.

    ``threshold='youden'`` picks, on the scores being evaluated, the threshold maximising
    Youden's J (sensitivity + specificity - 1). Picked on the test split, it is optimistic;
    for an honest figure pick it on the validation split (run the test tool with
    ``--cfg-options test_dataloader.dataset.data_prefix=val``) and set that value here as a
    number for the test run.

    Reported (with the default prefix ``threshold``), fractions in [0, 1]:
    ``value``, ``rule`` (``'youden'`` or ``'fixed'``), ``pos_class``, ``sensitivity``,
    ``specificity``, ``precision``, ``accuracy``, and the counts ``tp``, ``fn``, ``tn``,
    ``fp``.

    Args:
        threshold (float | str): A fixed threshold on the positive-class score, or
            ``'youden'``. Defaults to ``'youden'``.
        pos_label (int | str): The positive class, by index or name. Defaults to 1.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'threshold'``.
    """

    default_prefix: Optional[str] = 'threshold'

    def __init__(
        self,
        threshold: Union[float, str] = 'youden',
        pos_label: Union[int, str] = 1,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(threshold, str) and threshold != 'youden':
            raise ValueError(
                f"BinaryThreshold: threshold={threshold!r} is neither a number nor 'youden'"
            )
        self.threshold = threshold
        self.pos_label = pos_label

    def compute_metrics(self, results: List[dict]) -> dict:
        """Choose (or take) the threshold and measure the rates at it.

        Args:
            results (list[dict]): Scores and labels of all test samples.

        Returns:
            dict: The values listed in the class docstring; empty unless two classes.
        """
        scores, labels = self.stack(results)
        num_classes = scores.shape[1]
        logger = MMLogger.get_current_instance()
        if num_classes != 2:
            logger.info(f'BinaryThreshold: skipped, the model has {num_classes} classes, not 2')
            return {}
        positive = self.class_index(self.pos_label, num_classes)
        is_positive = labels == positive
        if is_positive.all() or not is_positive.any():
            logger.warning('BinaryThreshold: skipped, the test data has images of only one class')
            return {}
        pos_scores = scores[:, positive]
        if isinstance(self.threshold, str):
            value, rule = youden_threshold(is_positive, pos_scores), self.threshold
        else:
            value, rule = float(self.threshold), 'fixed'
        predicted = pos_scores >= value
        tp, fn = int(np.sum(predicted & is_positive)), int(np.sum(~predicted & is_positive))
        tn, fp = int(np.sum(~predicted & ~is_positive)), int(np.sum(predicted & ~is_positive))
        return {
            'value': value,
            'rule': rule,
            'pos_class': class_names_from_meta(self.dataset_meta, num_classes)[positive],
            'sensitivity': tp / (tp + fn),
            'specificity': tn / (tn + fp),
            'precision': tp / (tp + fp) if tp + fp else None,  # nothing predicted positive
            'accuracy': (tp + tn) / len(pos_scores),
            'tp': tp,
            'fn': fn,
            'tn': tn,
            'fp': fp,
        }
