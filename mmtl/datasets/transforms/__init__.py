"""Image decoding (:mod:`.image_io`: NumPy and Pillow) and the loading transforms
(:mod:`.loading`: mmcv, mmpretrain), each imported on first use."""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule that defines it.
_EXPORTS = {
    'MODE_CONVERTERS': 'image_io',
    'ImageDecodeError': 'image_io',
    'ImageHeader': 'image_io',
    'LoadAndRandomResizedCrop': 'loading',
    'LoadImage': 'loading',
    'apply_orientation': 'image_io',
    'pil_to_bgr': 'image_io',
    'read_header': 'loading',
    'register_mode': 'image_io',
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
