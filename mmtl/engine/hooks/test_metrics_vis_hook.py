"""Send the test metrics to the tracking backends (MLflow, W&B, TensorBoard) as scalars."""

import numbers
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmtl.registry import HOOKS


def scalar_metrics(metrics: Optional[dict]) -> Dict[str, float]:
    """The plain-number metrics (0-dim tensors and arrays too), as ``test/<name>``.

    Args:
        metrics (dict, optional): What the test loop's evaluator returned.

    Returns:
        dict: ``{'test/' + name: float}``; confusion matrix, curves and lists left out.
    """
    scalars = {}
    for key, value in (metrics or {}).items():
        if hasattr(value, 'ndim') and value.ndim == 0:
            value = value.item()
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            scalars['test/' + key] = float(value)
    return scalars


@HOOKS.register_module()
class TestMetricsVisHook(Hook):
    """After testing, add the scalar test metrics as ``test/<metric>`` at step 0 to every vis
    backend but the local one (mmengine's LoggerHook gives them to no tracking server; the
    local ``scalars.json`` keeps the training curves only)."""

    priority = 'LOW'  # before LoggerHook's after_run closes the backends
    SKIPPED_BACKENDS = ('LocalVisBackend',)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        scalars = scalar_metrics(metrics)
        if not scalars or not is_main_process():  # the backends write on rank 0 only
            return
        # mmengine's Visualizer keeps its backends by name; there is no public iterator.
        for backend in runner.visualizer._vis_backends.values():
            if type(backend).__name__ not in self.SKIPPED_BACKENDS:
                backend.add_scalars(scalars, step=0)
