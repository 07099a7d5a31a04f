from .image_io import (
    MODE_CONVERTERS,
    ImageDecodeError,
    ImageHeader,
    apply_orientation,
    pil_to_bgr,
    register_mode,
)
from .loading import LoadAndRandomResizedCrop, LoadImage, read_header

__all__ = [
    'MODE_CONVERTERS',
    'ImageDecodeError',
    'ImageHeader',
    'LoadAndRandomResizedCrop',
    'LoadImage',
    'apply_orientation',
    'pil_to_bgr',
    'read_header',
    'register_mode',
]
