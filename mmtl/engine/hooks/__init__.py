from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .model_summary_hook import ModelSummaryHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .progress_bar_hook import ProgressBarHook
from .test_metrics_vis_hook import TestMetricsVisHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'GradualUnfreezeHook',
    'ModelSummaryHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'ProgressBarHook',
    'TestMetricsVisHook',
    'compare_state_dicts',
]
