"""Converters from other checkpoint layouts (timm, torchvision) to mmtl's (mmpretrain's) models.

Both plug into mmtl's load path through the table
:data:`mmtl.utils.checkpoint_converters.CHECKPOINT_CONVERTERS`, tried in the order added
here: timm first, since a timm ResNet or DenseNet has torchvision's layout and only the timm
converter can tell (from the files beside it) that it came from timm.
"""

from mmtl.utils.checkpoint_converters import CHECKPOINT_CONVERTERS

from .timm import convert_if_timm, convert_timm_state_dict, timm_origin, timm_to_mmtl_checkpoint
from .torchvision import (
    convert_torchvision_state_dict,
    detect_torchvision_arch,
    torchvision_checkpoint_converter,
    torchvision_to_mmtl_checkpoint,
)

CHECKPOINT_CONVERTERS['timm'] = convert_if_timm
CHECKPOINT_CONVERTERS['torchvision'] = torchvision_checkpoint_converter

__all__ = [
    'convert_if_timm',
    'convert_timm_state_dict',
    'convert_torchvision_state_dict',
    'detect_torchvision_arch',
    'timm_origin',
    'timm_to_mmtl_checkpoint',
    'torchvision_checkpoint_converter',
    'torchvision_to_mmtl_checkpoint',
]
