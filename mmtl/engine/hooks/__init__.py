from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'compare_state_dicts',
]
