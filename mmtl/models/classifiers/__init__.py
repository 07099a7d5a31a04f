"""Classifiers for transfer learning."""

from .transfer_classifier import TransferClassifier, resolve_module_names

__all__ = ['TransferClassifier', 'resolve_module_names']
