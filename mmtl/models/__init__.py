"""mmtl models: backbones come from mmpretrain; transfer classifiers and heads live here."""

from . import backbones, converters, necks  # noqa: F401
from .classifiers import TransferClassifier
from .data_preprocessors import TransferDataPreprocessor
from .heads import TransferClsHead

__all__ = [
    'TransferClassifier',
    'TransferClsHead',
    'TransferDataPreprocessor',
]
