"""mmtl's plots (headless, Agg): predictions and test metrics.

mmpretrain's ``UniversalVisualizer`` serves the default runtime's visualisation hook.
"""

from .evaluation_plots import (
    PLOT_FILES,
    plot_test_metrics,
    plot_test_metrics_file,
    read_test_metrics,
)
from .figure import DPI, file_caption, new_figure, save_figure
from .metric_plots import normalize_rows, plot_confusion_matrix, plot_reliability_diagram
from .prediction import PREDICTION_FIGSIZE, draw_prediction

__all__ = [
    'DPI',
    'PLOT_FILES',
    'PREDICTION_FIGSIZE',
    'draw_prediction',
    'file_caption',
    'new_figure',
    'normalize_rows',
    'plot_confusion_matrix',
    'plot_reliability_diagram',
    'plot_test_metrics',
    'plot_test_metrics_file',
    'read_test_metrics',
    'save_figure',
]
