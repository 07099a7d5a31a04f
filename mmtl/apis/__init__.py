from .hub import get_model, list_models
from .inference import inference_model, init_model, show_result_pyplot

__all__ = ['get_model', 'list_models', 'inference_model', 'init_model', 'show_result_pyplot']
