from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .channels_last_hook import ChannelsLastHook
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .model_summary_hook import ModelSummaryHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'ChannelsLastHook',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'GradualUnfreezeHook',
    'ModelSummaryHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'compare_state_dicts',
]
