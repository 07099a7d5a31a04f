"""PNG plots of test metrics: confusion matrix, ROC curves, per-class bars, reliability.

Each function takes the values that mmtl's metrics write to ``test_metrics.json`` and
returns the rendered image (``H x W x 3`` RGB), writing it when ``out_file`` is given.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .figure import new_figure, save_figure

#: Classes above which per-cell numbers and legends are left out (they would not fit).
MAX_ANNOTATED_CLASSES = 30
MAX_LEGEND_ENTRIES = 15


def confusion_matrix_figsize(num_classes: int) -> Tuple[float, float]:
    """Width and height (inches) of the confusion-matrix plot for ``num_classes``."""
    side = min(30.0, max(6.0, 0.45 * num_classes + 3.0))
    return side + 1.0, side


#: Size of the ROC and reliability plots (inches).
ROC_FIGSIZE = (7.0, 6.0)


def normalize_rows(counts: np.ndarray) -> np.ndarray:
    """A ``C x C`` confusion matrix (rows = true classes) with each row divided by its sum
    (the recall of that class), float64; empty rows stay 0."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def plot_confusion_matrix(
    counts: Sequence[Sequence[int]],
    classes: Sequence[str],
    out_file: Optional[str] = None,
    figsize: Optional[Tuple[float, float]] = None,
) -> np.ndarray:
    """The confusion matrix as a heat map, true classes down, predicted across: each row as
    fractions of its true class (the diagonal is the per-class recall), each cell with its
    count.

    Args:
        counts (Sequence[Sequence[int]]): ``C x C`` counts, rows = true classes.
        classes (Sequence[str]): The class names for both axes.
        out_file (str, optional): PNG file to write.
        figsize (tuple, optional): Inches; defaults to :func:`confusion_matrix_figsize`.

    Returns:
        np.ndarray: The rendered plot, RGB.
    """
    counts = np.asarray(counts, dtype=np.int64)
    num_classes = len(classes)
    values = normalize_rows(counts)
    figure = new_figure(figsize or confusion_matrix_figsize(num_classes))
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap='Blues', vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    ticks = np.arange(num_classes)
    axes.set_xticks(ticks, classes, rotation=90 if num_classes > 8 else 0)
    axes.set_yticks(ticks, classes)
    axes.set_xlabel('predicted class')
    axes.set_ylabel('true class')
    total, correct = int(counts.sum()), int(np.trace(counts))
    axes.set_title(f'confusion matrix (row-normalised): {correct}/{total} correct')
    if num_classes <= MAX_ANNOTATED_CLASSES:
        fontsize = 9 if num_classes <= 12 else 6
        dark = 0.5 * (values.max() or 1)  # white text on dark cells
        for row, col in zip(*np.nonzero(counts)):
            count, value = counts[row, col], values[row, col]
            axes.text(
                col,
                row,
                f'{value:.2f}\n({count})',
                ha='center',
                va='center',
                fontsize=fontsize,
                color='white' if value > dark else 'black',
            )
    figure.tight_layout()
    return save_figure(figure, out_file)


def plot_roc_curves(
    curves: List[dict],
    out_file: Optional[str] = None,
    mean_auc: Optional[float] = None,
) -> np.ndarray:
    """ROC curves (true-positive rate against false-positive rate) with their AUC.

    Args:
        curves (list[dict]): ``{'class', 'fpr', 'tpr', 'auc'}`` per curve, as written by
            :class:`~mmtl.evaluation.ROCAUC`; curves without points are skipped.
        out_file (str, optional): PNG file to write.
        mean_auc (float, optional): The macro AUC, shown in the title.

    Returns:
        np.ndarray: The rendered plot, RGB.
    """
    figure = new_figure(ROC_FIGSIZE)
    axes = figure.add_subplot()
    drawn = [curve for curve in curves if curve.get('fpr')]
    for curve in drawn:
        axes.plot(
            curve['fpr'],
            curve['tpr'],
            linewidth=1.5,
            label=f'{curve["class"]} (AUC {curve["auc"]:.3f})',
        )
    axes.plot([0, 1], [0, 1], linestyle='--', color='grey', linewidth=1, label='chance')
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)
    axes.set_xlabel('false-positive rate (1 - specificity)')
    axes.set_ylabel('true-positive rate (sensitivity)')
    if len(drawn) == 1:
        title = f'ROC of {drawn[0]["class"]}: AUC {drawn[0]["auc"]:.3f}'
    else:
        title = 'ROC, one class vs the rest'
        if mean_auc is not None:
            title += f': macro AUC {mean_auc:.3f}'
    axes.set_title(title)
    if len(drawn) <= MAX_LEGEND_ENTRIES:
        axes.legend(loc='lower right', fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return save_figure(figure, out_file)


def bar_errors(
    values: Sequence[float], bounds: Optional[Sequence[Optional[Sequence[float]]]]
) -> Optional[np.ndarray]:
    """Matplotlib's ``yerr`` (``2 x C`` non-negative distances below and above ``values``)
    from one ``[low, high]`` (or None) per bar; None when no bounds are given."""
    if not bounds:
        return None
    if len(bounds) != len(values):
        raise ValueError(f'{len(bounds)} intervals for {len(values)} values')
    values = np.asarray(values, dtype=np.float64)
    pairs = np.array([b if b is not None else (v, v) for b, v in zip(bounds, values)], float)
    return np.clip(np.stack([values - pairs[:, 0], pairs[:, 1] - values]), 0, None)


def plot_per_class_metrics(
    classes: Sequence[str],
    values: Dict[str, Sequence[float]],
    support: Optional[Sequence[int]] = None,
    out_file: Optional[str] = None,
    figsize: Optional[Tuple[float, float]] = None,
    intervals: Optional[Dict[str, Sequence[Sequence[float]]]] = None,
    small_classes: Sequence[str] = (),
) -> np.ndarray:
    """Grouped bars of per-class metrics (e.g. precision, recall and F1 in %).

    Args:
        classes (Sequence[str]): The class names (x axis).
        values (dict[str, Sequence[float]]): Metric name -> one value (%) per class.
        support (Sequence[int], optional): Test images per class, shown under each name.
        out_file (str, optional): PNG file to write.
        intervals (dict, optional): Metric name -> one ``[low, high]`` (%) per class, drawn
            as error bars (e.g. ``ci/recall`` of ``test_metrics.json``).
        small_classes (Sequence[str]): Classes with too few test images to judge; their
            names are marked with ``*`` and explained in the title.
        figsize (tuple, optional): Inches. Defaults to a width growing with the classes.

    Returns:
        np.ndarray: The rendered plot, RGB.
    """
    num_classes = len(classes)
    figure = new_figure(figsize or (min(40.0, max(8.0, 0.5 * num_classes + 2.0)), 5.0))
    axes = figure.add_subplot()
    positions = np.arange(num_classes)
    width = 0.8 / max(1, len(values))
    for offset, (name, column) in enumerate(values.items()):
        errors = bar_errors(column, (intervals or {}).get(name))
        axes.bar(
            positions + (offset - (len(values) - 1) / 2) * width,
            column,
            width,
            label=name,
            yerr=errors,
            capsize=2 if errors is not None else 0,
            error_kw=dict(elinewidth=0.8, ecolor='black'),
        )
    small = set(small_classes)
    labels = [f'{name}*' if name in small else str(name) for name in classes]
    if support is not None:
        labels = [f'{name}\n(n={count})' for name, count in zip(labels, support)]
    axes.set_xticks(positions, labels, rotation=90 if num_classes > 12 else 0, fontsize=8)
    axes.set_ylim(0, 118)  # room above 100 % for the legend
    axes.set_yticks(np.arange(0, 101, 20))
    axes.set_ylabel('%')
    title = 'per-class metrics on the test set'
    if intervals:
        title += ' (bars: 95 % intervals)'
    if small:
        title += '\n* too few test images to judge'
    axes.set_title(title)
    axes.legend(loc='upper center', ncol=len(values), fontsize=8, frameon=False)
    axes.grid(axis='y', alpha=0.3)
    figure.tight_layout()
    return save_figure(figure, out_file)


def plot_reliability_diagram(
    bins: dict,
    out_file: Optional[str] = None,
    ece: Optional[float] = None,
) -> np.ndarray:
    """Accuracy against top-1 confidence per bin; the diagonal is perfect calibration.

    Args:
        bins (dict): ``edges``, ``count``, ``confidence`` and ``accuracy`` (%) as written by
            :class:`~mmtl.evaluation.Calibration` (``calibration/bins``).
        out_file (str, optional): PNG file to write.
        ece (float, optional): The expected calibration error, shown in the title.

    Returns:
        np.ndarray: The rendered plot, RGB.
    """
    edges = 100 * np.asarray(bins['edges'], dtype=np.float64)
    figure = new_figure(ROC_FIGSIZE)
    axes = figure.add_subplot()
    filled = [i for i, count in enumerate(bins['count']) if count]
    axes.bar(
        edges[filled],
        [bins['accuracy'][i] for i in filled],
        width=np.diff(edges)[filled],
        align='edge',
        edgecolor='black',
        label='accuracy',
    )
    axes.plot(
        [bins['confidence'][i] for i in filled],
        [bins['accuracy'][i] for i in filled],
        'o',
        color='darkorange',
        label='mean confidence of the bin',
    )
    for i in filled:
        axes.text(edges[i] + 1, 2, str(bins['count'][i]), fontsize=7, rotation=90)
    axes.plot([0, 100], [0, 100], linestyle='--', color='grey', label='perfect calibration')
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.set_xlabel('top-1 confidence (%) [images per bin at the bottom]')
    axes.set_ylabel('accuracy (%)')
    title = 'reliability diagram'
    if ece is not None:
        title += f': ECE {ece:.1f} points'
    axes.set_title(title)
    axes.legend(loc='upper left', fontsize=8)
    figure.tight_layout()
    return save_figure(figure, out_file)
