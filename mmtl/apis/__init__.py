from .inference import (
    as_bgr_image,
    expand_image_inputs,
    inference_model,
    init_model,
    show_result_pyplot,
)

__all__ = [
    'as_bgr_image',
    'expand_image_inputs',
    'inference_model',
    'init_model',
    'show_result_pyplot',
]
