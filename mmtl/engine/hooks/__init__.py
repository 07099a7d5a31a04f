from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .model_summary_hook import ModelSummaryHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pretrained_normalization_hook import PretrainedNormalizationHook, normalization_mismatch

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'GradualUnfreezeHook',
    'ModelSummaryHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'PretrainedNormalizationHook',
    'compare_state_dicts',
    'normalization_mismatch',
]
