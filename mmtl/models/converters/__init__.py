"""Converters from other checkpoint layouts to mmtl's (mmpretrain's) models."""

from .torchvision import (
    TORCHVISION_CONVERTERS,
    TorchvisionConverter,
    convert_if_torchvision,
    convert_torchvision_state_dict,
    detect_torchvision_arch,
    register_torchvision_converter,
    torchvision_to_mmtl_checkpoint,
)

__all__ = [
    'TORCHVISION_CONVERTERS',
    'TorchvisionConverter',
    'convert_if_torchvision',
    'convert_torchvision_state_dict',
    'detect_torchvision_arch',
    'register_torchvision_converter',
    'torchvision_to_mmtl_checkpoint',
]
