from .accuracy import Accuracy
from .binary_threshold import BinaryThreshold, youden_threshold
from .calibration import Calibration
from .classification_report import ClassificationReport
from .confusion_matrix import ConfusionMatrix
from .intervals import TestIntervals, add_test_intervals
from .predictions import PredictionWriter, add_prediction_writer, check_prediction_file
from .roc_auc import ROCAUC
from .score_metric import ScoreMetric

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
    'add_prediction_writer',
    'check_prediction_file',
    'youden_threshold',
]
