"""Converters from other checkpoint layouts (timm, torchvision) to mmtl's (mmpretrain's) models.

Both plug into mmtl's load path through the table
:data:`mmtl.utils.checkpoint_converters.CHECKPOINT_CONVERTERS`, tried in the order added
here: timm first, since a timm ResNet or DenseNet has torchvision's layout and only the timm
converter can tell (from the files beside it) that it came from timm.
"""

from mmtl.utils.checkpoint_converters import CHECKPOINT_CONVERTERS, convert_checkpoint

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

CHECKPOINT_CONVERTERS['timm'] = convert_if_timm
CHECKPOINT_CONVERTERS['torchvision'] = torchvision_checkpoint_converter

__all__ = [
    'TIMM_LAYOUTS',
    'TIMM_MODEL_NAMES',
    'TORCHVISION_CONVERTERS',
    'TorchvisionConverter',
    'convert_checkpoint',
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
