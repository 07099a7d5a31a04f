"""Optimizer wrapper constructors."""

from .transfer_constructor import TransferOptimWrapperConstructor

__all__ = ['TransferOptimWrapperConstructor']
