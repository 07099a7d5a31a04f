"""mmtl's plots (headless, Agg): predictions and test metrics.

mmpretrain's ``UniversalVisualizer`` serves the default runtime's visualisation hook.
"""

from .evaluation_plots import (
    PLOT_FILES,
    plot_test_metrics,
    plot_test_metrics_file,
    read_test_metrics,
)
from .figure import DPI, file_caption, grid_shape, image_grid, new_figure, render, save_figure
from .metric_plots import (
    normalize_rows,
    plot_confusion_matrix,
    plot_per_class_metrics,
    plot_reliability_diagram,
    plot_roc_curves,
)
from .prediction import PREDICTION_FIGSIZE, draw_prediction

__all__ = [
    'DPI',
    'PLOT_FILES',
    'PREDICTION_FIGSIZE',
    'draw_prediction',
    'grid_shape',
    'image_grid',
    'file_caption',
    'new_figure',
    'normalize_rows',
    'plot_confusion_matrix',
    'plot_per_class_metrics',
    'plot_reliability_diagram',
    'plot_roc_curves',
    'plot_test_metrics',
    'plot_test_metrics_file',
    'read_test_metrics',
    'render',
    'save_figure',
]
