from .inference import expand_image_inputs, inference_model, init_model

__all__ = ['expand_image_inputs', 'inference_model', 'init_model']
