"""Calibration of the test scores: expected calibration error and reliability bins."""

from typing import List, Optional

from mmtl.registry import METRICS

from ..calibration import expected_calibration_error, log_loss, reliability_bins
from .score_metric import ScoreMetric


@METRICS.register_module()
class Calibration(ScoreMetric):
    """How far the top-1 probability can be trusted as the chance of being right.

    Reported (with the default prefix ``calibration``):

    - ``ece``: expected calibration error in points (0 = confidence equals accuracy);
    - ``log_loss``: cross-entropy of the scores (nats);
    - ``bins``: the reliability diagram's data, see
      :func:`mmtl.evaluation.calibration.reliability_bins` (drawn by ``--plots``).

    Args:
        num_bins (int): Equal-width confidence bins. Defaults to 10.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix (str, optional): Metric name prefix. Defaults to ``'calibration'``.
    """

    default_prefix: Optional[str] = 'calibration'

    def __init__(self, num_bins: int = 10, collect_device: str = 'cpu', prefix=None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_bins < 1:
            raise ValueError(f'Calibration: num_bins={num_bins} must be at least 1')
        self.num_bins = num_bins

    def compute_metrics(self, results: List[dict]) -> dict:
        """ECE, log loss and bins of all test samples."""
        scores, labels = self.stack(results)
        bins = reliability_bins(scores, labels, self.num_bins)
        return {
            'ece': expected_calibration_error(bins),
            'log_loss': log_loss(scores, labels),
            'bins': bins,
        }
