from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend, CheckpointWriteError
from .channels_last_hook import ChannelsLastHook
from .class_weight_hook import ClassWeightHook, add_class_weight_hook
from .effective_lr_hook import EffectiveLrHook, describe_param_groups
from .feature_cache_hook import FeatureCacheHook
from .graceful_stop_hook import GracefulStopHook, TrainingInterrupted
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pretrained_normalization_hook import PretrainedNormalizationHook, normalization_mismatch
from .progress_bar_hook import ProgressBarHook
from .test_best_checkpoint_hook import TestBestCheckpointHook
from .test_metrics_vis_hook import TestMetricsVisHook
from .val_loss_hook import ValLossHook
from .warmup_floor_hook import WarmupFloorHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'ChannelsLastHook',
    'CheckpointWriteError',
    'ClassWeightHook',
    'EffectiveLrHook',
    'FeatureCacheHook',
    'GracefulStopHook',
    'GradualUnfreezeHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'PretrainedNormalizationHook',
    'ProgressBarHook',
    'TestBestCheckpointHook',
    'TestMetricsVisHook',
    'add_class_weight_hook',
    'TrainingInterrupted',
    'ValLossHook',
    'WarmupFloorHook',
    'describe_param_groups',
    'normalization_mismatch',
]
