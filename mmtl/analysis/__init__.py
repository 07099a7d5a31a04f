"""Looking inside models, datasets and runs: summaries, layer hooks, Grad-CAM, statistics.

The plotting parts (``plotting``, ``logs.curve_figures``, ``browse``) import matplotlib when
used; the modules below need only torch.
"""

from .feature_hooks import UnknownLayerError, capture_features
from .gradcam import default_target_layer, grad_cam
from .model_summary import (
    MemoryEstimate,
    count_flops,
    count_params,
    estimate_training_memory,
    measure_training_step,
    trace_layers,
)

__all__ = [
    'MemoryEstimate',
    'UnknownLayerError',
    'capture_features',
    'count_flops',
    'count_params',
    'default_target_layer',
    'estimate_training_memory',
    'grad_cam',
    'measure_training_step',
    'trace_layers',
]
