"""95 % intervals of the test figures, printed and saved beside them (``tools/test.py``)."""

from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import MMLogger

from mmtl.registry import METRICS

from ..statistics import (
    MIN_CLASS_SUPPORT,
    NUM_RESAMPLES,
    SEED,
    classification_intervals,
    format_intervals,
)
from .score_metric import ScoreMetric, class_names_from_meta


def _bounds(interval: Optional[dict]) -> Optional[List[float]]:
    """``[low, high]`` of an interval dict (None stays None)."""
    return None if interval is None else [interval['low'], interval['high']]


@METRICS.register_module()
class TestIntervals(ScoreMetric):
    """Confidence intervals of top-1, macro-F1, AUC and per-class precision, recall and F1.

    The methods are those of :mod:`mmtl.evaluation.statistics`. The estimates are those of
    :class:`Accuracy`, :class:`ClassificationReport` and :class:`ROCAUC`; this metric adds
    their bounds, prints a table of them and lists the classes with too few test images.

    Reported (with the default prefix ``ci``), bounds as ``[low, high]`` in % (AUC a
    fraction):

    - ``top1``, ``macro_f1``, ``auc`` (None when undefined);
    - ``precision``, ``recall``, ``f1``: one ``[low, high]`` per class;
    - ``small_classes``: names of classes with fewer than ``min_support`` test images;
    - ``confidence``, ``method``.

    Args:
        confidence (float): Coverage. Defaults to 0.95.
        num_resamples (int): Bootstrap resamples. Defaults to 2000.
        seed (int): Bootstrap seed. Defaults to 0.
        min_support (int): Test images a class needs not to be flagged. Defaults to 5.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'ci'``.
    """

    __test__ = False  # not a pytest class, despite the name
    default_prefix: Optional[str] = 'ci'

    def __init__(
        self,
        confidence: float = 0.95,
        num_resamples: int = NUM_RESAMPLES,
        seed: int = SEED,
        min_support: int = MIN_CLASS_SUPPORT,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < confidence < 1:
            raise ValueError(f'TestIntervals: confidence={confidence} must be in (0, 1)')
        self.confidence = confidence
        self.num_resamples = num_resamples
        self.seed = seed
        self.min_support = min_support

    def compute_metrics(self, results: List[dict]) -> dict:
        """Compute the bounds and print them as a table.

        Args:
            results (list[dict]): Scores and labels of all test samples.

        Returns:
            dict: The values listed in the class docstring.
        """
        scores, labels = self.stack(results)
        names = class_names_from_meta(self.dataset_meta, scores.shape[1])
        intervals = classification_intervals(
            scores, labels, self.confidence, self.num_resamples, self.seed, self.min_support
        )
        MMLogger.get_current_instance().info('\n'.join(format_intervals(intervals, names)))
        return {
            'top1': _bounds(intervals['top1']),
            'macro_f1': _bounds(intervals['macro_f1']),
            'auc': _bounds(intervals['auc']),
            'precision': [_bounds(i) for i in intervals['precision']],
            'recall': [_bounds(i) for i in intervals['recall']],
            'f1': [_bounds(i) for i in intervals['f1']],
            'small_classes': [names[c] for c in intervals['small_classes']],
            'confidence': self.confidence,
            'method': (
                'Wilson score (top1, precision, recall); percentile bootstrap over test images, '
                f'seed {self.seed}: {self.num_resamples} resamples (f1, macro_f1), '
                f'{intervals["auc_resamples"]} within each class (auc)'
            ),
        }


def add_test_intervals(cfg: Config) -> None:
    """Append :class:`TestIntervals` and :class:`Calibration` to the test evaluator.

    A metric the config lists already (perhaps with its own arguments) is not added again.

    Args:
        cfg (Config): The test config, changed in place.
    """
    from .calibration import Calibration
    from .predictions import append_test_metric, evaluator_metrics

    present = {m.get('type') for m in evaluator_metrics(cfg) if isinstance(m, dict)}
    for metric in (TestIntervals, Calibration):
        if not present & {metric, metric.__name__}:
            append_test_metric(cfg, dict(type=metric.__name__))
