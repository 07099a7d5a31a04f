from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .channels_last_hook import ChannelsLastHook
from .checkpoint_load_report_hook import CheckpointLoadReportHook, compare_state_dicts
from .class_weight_hook import ClassWeightHook, add_class_weight_hook
from .effective_lr_hook import EffectiveLrHook, describe_param_groups
from .graceful_stop_hook import GracefulStopHook, TrainingInterrupted
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .model_summary_hook import ModelSummaryHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pretrained_normalization_hook import PretrainedNormalizationHook, normalization_mismatch
from .progress_bar_hook import ProgressBarHook
from .test_best_checkpoint_hook import TestBestCheckpointHook
from .test_metrics_vis_hook import TestMetricsVisHook
from .warmup_floor_hook import WarmupFloorHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'ChannelsLastHook',
    'CheckpointLoadReportHook',
    'CheckpointWriteError',
    'ClassWeightHook',
    'EffectiveLrHook',
    'GracefulStopHook',
    'GradualUnfreezeHook',
    'ModelSummaryHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'PretrainedNormalizationHook',
    'ProgressBarHook',
    'TestBestCheckpointHook',
    'TestMetricsVisHook',
    'add_class_weight_hook',
    'TrainingInterrupted',
    'WarmupFloorHook',
    'compare_state_dicts',
    'describe_param_groups',
    'normalization_mismatch',
]
