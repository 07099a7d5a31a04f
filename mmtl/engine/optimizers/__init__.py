"""Optimizer wrapper constructors."""

from .transfer_constructor import TransferOptimWrapperConstructor, backbone_block_depths

__all__ = ['TransferOptimWrapperConstructor', 'backbone_block_depths']
