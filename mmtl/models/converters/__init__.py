"""Converters from other checkpoint layouts (timm, torchvision) to mmtl's (mmpretrain's) models.

Both plug into the safe checkpoint loader through :data:`mmtl.registry.CHECKPOINT_CONVERTERS`
(see :mod:`mmtl.utils.checkpoint_converters`), tried in the order registered here: timm first,
since a timm ResNet or DenseNet has torchvision's layout and only the timm converter can tell
(from the files beside it) that it came from timm.
"""

from mmtl.registry import CHECKPOINT_CONVERTERS

from .timm import (
    TIMM_LAYOUTS,
    TIMM_MODEL_NAMES,
    convert_if_timm,
    convert_timm_state_dict,
    register_timm_layout,
    timm_origin,
    timm_to_mmtl_checkpoint,
    to_torchvision_layout,
)
from .torchvision import (
    TORCHVISION_CONVERTERS,
    TorchvisionConverter,
    convert_if_torchvision,
    convert_torchvision_state_dict,
    detect_torchvision_arch,
    register_torchvision_converter,
    torchvision_checkpoint_converter,
    torchvision_to_mmtl_checkpoint,
)

CHECKPOINT_CONVERTERS.register_module('timm', module=convert_if_timm, force=True)
CHECKPOINT_CONVERTERS.register_module(
    'torchvision', module=torchvision_checkpoint_converter, force=True
)

__all__ = [
    'TIMM_LAYOUTS',
    'TIMM_MODEL_NAMES',
    'TORCHVISION_CONVERTERS',
    'TorchvisionConverter',
    'convert_if_timm',
    'convert_if_torchvision',
    'convert_timm_state_dict',
    'convert_torchvision_state_dict',
    'detect_torchvision_arch',
    'register_timm_layout',
    'register_torchvision_converter',
    'timm_origin',
    'timm_to_mmtl_checkpoint',
    'to_torchvision_layout',
    'torchvision_checkpoint_converter',
    'torchvision_to_mmtl_checkpoint',
]
