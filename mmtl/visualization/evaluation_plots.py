"""Plots of a test run's ``test_metrics.json``: which plots, where, from which file."""

import json
import os.path as osp
from typing import List, Optional

from .metric_plots import (
    plot_confusion_matrix,
    plot_per_class_metrics,
    plot_reliability_diagram,
    plot_roc_curves,
)

#: File names written by :func:`plot_test_metrics`.
PLOT_FILES = {
    'confusion_matrix': 'confusion_matrix.png',
    'roc': 'roc_curves.png',
    'per_class': 'per_class_metrics.png',
    'reliability': 'reliability_diagram.png',
}


def plot_test_metrics(metrics: dict, out_dir: str) -> List[str]:
    """Write every plot the metrics allow into ``out_dir``.

    Args:
        metrics (dict): The ``metrics`` of a ``test_metrics.json`` (keys such as
            ``confusion_matrix/counts``, ``roc/curves``, ``report/f1``).
        out_dir (str): Folder for the PNG files (created).

    Returns:
        list[str]: The files written (see :data:`PLOT_FILES`), for the metrics there.
    """
    written = []
    if 'confusion_matrix/counts' in metrics:
        path = osp.join(out_dir, PLOT_FILES['confusion_matrix'])
        plot_confusion_matrix(
            metrics['confusion_matrix/counts'], metrics['confusion_matrix/classes'], path
        )
        written.append(path)
    if metrics.get('roc/curves'):
        path = osp.join(out_dir, PLOT_FILES['roc'])
        plot_roc_curves(metrics['roc/curves'], path, mean_auc=metrics.get('roc/auc'))
        written.append(path)
    if 'report/f1' in metrics:
        path = osp.join(out_dir, PLOT_FILES['per_class'])
        values = {name: metrics[f'report/{name}'] for name in ('precision', 'recall', 'f1')}
        intervals = {name: metrics[f'ci/{name}'] for name in values if metrics.get(f'ci/{name}')}
        plot_per_class_metrics(
            metrics['report/classes'],
            values,
            metrics.get('report/support'),
            path,
            intervals=intervals,
            small_classes=metrics.get('ci/small_classes') or (),
        )
        written.append(path)
    if metrics.get('calibration/bins'):
        path = osp.join(out_dir, PLOT_FILES['reliability'])
        plot_reliability_diagram(metrics['calibration/bins'], path, metrics.get('calibration/ece'))
        written.append(path)
    return written


def read_test_metrics(path: str) -> dict:
    """The ``metrics`` of a ``test_metrics.json``, given the file or its work dir.

    Raises:
        FileNotFoundError: No such file (or no ``test_metrics.json`` in the folder).
        ValueError: The file is no test-metrics JSON.
    """
    file = _metrics_file(path)
    if not osp.isfile(file):
        raise FileNotFoundError(f'test metrics file not found: {file} (run the test tool first)')
    with open(file) as f:
        try:
            record = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{file} is not valid JSON: {err}') from err
    if not isinstance(record, dict) or not isinstance(record.get('metrics'), dict):
        raise ValueError(f'{file} has no "metrics" object; is it a test_metrics.json?')
    return record['metrics']


def _metrics_file(path: str) -> str:
    return osp.join(path, 'test_metrics.json') if osp.isdir(path) else path


def plot_test_metrics_file(path: str, out_dir: Optional[str] = None) -> List[str]:
    """Write the plots of a ``test_metrics.json`` (see :func:`plot_test_metrics`).

    Args:
        path (str): The JSON file, or the work dir holding ``test_metrics.json``.
        out_dir (str, optional): Folder for the PNG files. Defaults to ``test_plots/``
            next to the JSON file.

    Returns:
        list[str]: The files written.

    Raises:
        ValueError: The file holds none of the metrics that can be plotted.
    """
    metrics = read_test_metrics(path)
    out_dir = out_dir or osp.join(osp.dirname(osp.abspath(_metrics_file(path))), 'test_plots')
    written = plot_test_metrics(metrics, out_dir)
    if not written:
        raise ValueError(
            f'{_metrics_file(path)} has none of the metrics that are plotted '
            '(confusion_matrix/*, roc/curves, report/*): test with the test_evaluator of '
            'configs/_base_/datasets/image_folder_224.py'
        )
    return written
