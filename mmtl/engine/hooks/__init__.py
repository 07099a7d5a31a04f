from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .class_weight_hook import ClassWeightHook
from .effective_lr_hook import EffectiveLrHook
from .feature_cache_hook import FeatureCacheHook
from .graceful_stop_hook import GracefulStopHook
from .gradual_unfreeze_hook import GradualUnfreezeHook
from .non_finite_loss_hook import NonFiniteLossHook
from .pretrained_normalization_hook import PretrainedNormalizationHook, normalization_mismatch
from .progress_bar_hook import ProgressBarHook
from .test_best_checkpoint_hook import TestBestCheckpointHook
from .test_metrics_vis_hook import TestMetricsVisHook
from .val_loss_hook import ValLossHook
from .warmup_floor_hook import WarmupFloorHook

__all__ = [
    'AtomicCheckpointHook',
    'ChannelsLastHook',
    'ClassWeightHook',
    'EffectiveLrHook',
    'FeatureCacheHook',
    'GracefulStopHook',
    'GradualUnfreezeHook',
    'NonFiniteLossHook',
    'PretrainedNormalizationHook',
    'ProgressBarHook',
    'TestBestCheckpointHook',
    'TestMetricsVisHook',
    'ValLossHook',
    'WarmupFloorHook',
    'normalization_mismatch',
]
