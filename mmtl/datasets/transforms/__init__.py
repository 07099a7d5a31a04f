"""The loading transforms (:mod:`.loading`: mmcv, mmpretrain), imported on first use, so that
:mod:`.image_io` (NumPy and Pillow) can be imported alone."""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule that defines it.
_EXPORTS = {'LoadAndRandomResizedCrop': 'loading', 'LoadImage': 'loading'}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
