"""What a model costs: parameters per layer, FLOPs, and memory needed to train it.

The figures come from one forward pass of a random input through the model in eval mode
(no BN statistics change, no gradients), with forward hooks on every leaf module.

One module a job: ``tracing``, ``complexity``, ``memory`` (the estimate), ``measure`` (RSS of a
real step) and ``formatting``; every name is importable from here.
"""

from .complexity import (  # noqa: F401
    count_flops,
    count_params,
    format_layer_types,
    model_complexity,
)
from .formatting import (  # noqa: F401
    format_bytes,
    format_count,
    format_layer_table,
    format_memory,
)
from .measure import (  # noqa: F401
    measure_training_step,
)
from .memory import (  # noqa: F401
    OPTIMIZER_STATE_SLOTS,
    MemoryEstimate,
    estimate_training_memory,
    optimizer_state_slots,
)
from .tracing import (  # noqa: F401
    LayerInfo,
    evaluation_mode,
    leaf_modules,
    random_input,
    trace_layers,
)

__all__ = [
    'LayerInfo',
    'MemoryEstimate',
    'OPTIMIZER_STATE_SLOTS',
    'count_flops',
    'count_params',
    'estimate_training_memory',
    'evaluation_mode',
    'format_bytes',
    'format_count',
    'format_layer_table',
    'format_layer_types',
    'format_memory',
    'leaf_modules',
    'measure_training_step',
    'model_complexity',
    'optimizer_state_slots',
    'random_input',
    'trace_layers',
]
