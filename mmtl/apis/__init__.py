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
    'get_model',
    'list_models',
    'inference_model',
    'init_model',
    'show_result_pyplot',
]


def __getattr__(name: str):
    # The model hub reads the model index; imported when first used.
    if name in ('get_model', 'list_models'):
        from . import hub

        return getattr(hub, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
