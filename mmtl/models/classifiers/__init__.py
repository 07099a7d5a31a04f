"""Classifiers for transfer learning."""

from .transfer_classifier import TransferClassifier

__all__ = ['TransferClassifier']
