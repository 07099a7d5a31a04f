from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .channels_last_hook import ChannelsLastHook
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .class_weight_hook import ClassWeightHook, add_class_weight_hook
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .model_summary_hook import ModelSummaryHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'ChannelsLastHook',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'ClassWeightHook',
    'GradualUnfreezeHook',
    'ModelSummaryHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'add_class_weight_hook',
    'compare_state_dicts',
]
