from .accuracy import Accuracy
from .binary_threshold import BinaryThreshold, rates_at_threshold, youden_threshold
from .calibration import Calibration
from .classification_report import ClassificationReport
from .confusion_matrix import ConfusionMatrix
from .intervals import TestIntervals, add_test_intervals
from .predictions import PredictionWriter, add_prediction_writer, check_prediction_file
from .roc_auc import ROCAUC, one_vs_rest_roc
from .score_metric import ScoreMetric, class_names_from_meta

__all__ = [
    'Accuracy',
    'BinaryThreshold',
    'Calibration',
    'ClassificationReport',
    'ConfusionMatrix',
    'PredictionWriter',
    'ROCAUC',
    'ScoreMetric',
    'TestIntervals',
    'add_test_intervals',
    'class_names_from_meta',
    'add_prediction_writer',
    'check_prediction_file',
    'one_vs_rest_roc',
    'rates_at_threshold',
    'youden_threshold',
]
