"""Log the validation loss beside val top-1."""

from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from mmtl.evaluation.calibration import MIN_PROBABILITY
from mmtl.registry import HOOKS


@HOOKS.register_module()
class ValLossHook(Hook):
    """Add ``val_loss`` to the validation metrics: the mean ``-log p(true class)`` of the val
    predictions, without class weights or label smoothing, so that it compares across
    recipes; it rises when a model grows over-confident on its mistakes while top-1 stays
    put. A ``val_loss`` the model reports itself is kept."""

    # before RuntimeInfoHook (VERY_HIGH) copies the metrics to the message hub for the log
    priority = 'HIGHEST'

    def before_val_epoch(self, runner) -> None:
        self._sum, self._count = 0.0, 0

    def after_val_iter(
        self, runner, batch_idx: int, data_batch=None, outputs: Optional[Sequence] = None
    ) -> None:
        for sample in outputs or ():
            if 'pred_score' not in sample or 'gt_label' not in sample:
                continue
            label = int(sample.gt_label.reshape(-1)[0])
            probability = float(sample.pred_score[label])
            self._sum -= float(np.log(max(probability, MIN_PROBABILITY)))
            self._count += 1

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        totals = torch.tensor([self._sum, float(self._count)], dtype=torch.float64)
        all_reduce(totals)  # a no-op without distributed training
        if metrics is not None and totals[1] > 0:
            metrics.setdefault('val_loss', float(totals[0] / totals[1]))
