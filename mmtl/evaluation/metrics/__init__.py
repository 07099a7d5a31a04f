from .accuracy import Accuracy
from .binary_threshold import BinaryThreshold, rates_at_threshold, youden_threshold
from .classification_report import ClassificationReport
from .confusion_matrix import ConfusionMatrix
from .roc_auc import ROCAUC, one_vs_rest_roc
from .score_metric import ScoreMetric, class_names_from_meta

__all__ = [
    'Accuracy',
    'BinaryThreshold',
    'ClassificationReport',
    'ConfusionMatrix',
    'ROCAUC',
    'ScoreMetric',
    'class_names_from_meta',
    'one_vs_rest_roc',
    'rates_at_threshold',
    'youden_threshold',
]
