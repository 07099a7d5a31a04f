from mmtl.lazy import lazy_exports

from .inference import (
    inference_model,
    init_model,
    show_result_pyplot,
)

__all__ = [
    'get_model',
    'list_models',
    'inference_model',
    'init_model',
    'show_result_pyplot',
]


# The model hub reads the model index: imported when first used.
__getattr__, __dir__ = lazy_exports(__name__, {'get_model': 'hub', 'list_models': 'hub'})
