"""The TestIntervals metric (ci/* in test_metrics.json) and its error bars in the per-class plot."""

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmtl.evaluation.metrics import TestIntervals, add_test_intervals
from mmtl.evaluation.statistics import wilson_interval
from mmtl.registry import METRICS
from mmtl.visualization.metric_plots import bar_errors, plot_per_class_metrics


def evaluate(metric, scores, labels, classes):
    metric.dataset_meta = {'classes': classes}
    samples = [
        {'pred_score': torch.as_tensor(s, dtype=torch.float32), 'gt_label': torch.tensor([y])}
        for s, y in zip(scores, labels)
    ]
    for start in range(0, len(samples), 8):
        metric.process(None, samples[start : start + 8])
    return metric.evaluate(size=len(samples))


def test_intervals_hold_the_estimates_and_flag_small_classes():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(30), np.ones(30), np.full(2, 2)].astype(int)
    scores = rng.random((62, 3)) + np.eye(3)[labels] * 0.7
    metric = METRICS.build(dict(type='TestIntervals', num_resamples=500))
    metrics = evaluate(metric, scores, labels, ['cat', 'dog', 'owl'])
    correct = int((scores.argmax(1) == labels).sum())
    assert metrics['ci/top1'] == pytest.approx(list(wilson_interval(correct, 62)))
    assert metrics['ci/small_classes'] == ['owl']
    assert len(metrics['ci/recall']) == len(metrics['ci/f1']) == 3
    assert 0.0 <= metrics['ci/auc'][0] < metrics['ci/auc'][1] <= 1.0
    low, high = metrics['ci/macro_f1']
    assert 0.0 <= low < high <= 100.0
    # the class of 2 images is far less certain than those of 30
    width = [high - low for low, high in metrics['ci/recall']]
    assert width[2] > 2 * max(width[:2])


def test_intervals_reject_bad_arguments():
    with pytest.raises(ValueError, match='confidence=95'):
        TestIntervals(confidence=95)


@pytest.mark.parametrize(
    'evaluator',
    [
        None,
        dict(type='Accuracy'),
        [dict(type='Accuracy')],
        dict(type='Evaluator', metrics=[dict(type='Accuracy')]),
    ],
)
def test_add_test_intervals_once_to_every_evaluator_form(evaluator):
    cfg = Config(dict(test_evaluator=evaluator))
    add_test_intervals(cfg)
    add_test_intervals(cfg)  # not twice
    text = str(cfg.test_evaluator)
    assert text.count('TestIntervals') == 1
    assert text.count('Calibration') == 1
    assert evaluator is None or 'Accuracy' in text


def test_bar_errors_are_distances_to_the_bounds():
    errors = bar_errors([50.0, 100.0], [[40.0, 70.0], None])
    assert errors.tolist() == [[10.0, 0.0], [20.0, 0.0]]
    with pytest.raises(ValueError, match='1 intervals for 2 values'):
        bar_errors([50.0, 100.0], [[40.0, 70.0]])


def test_per_class_plot_draws_error_bars():
    values = {'recall': [50.0, 100.0]}
    plain = plot_per_class_metrics(['a', 'b'], values, [4, 40])
    with_bars = plot_per_class_metrics(
        ['a', 'b'],
        values,
        [4, 40],
        intervals={'recall': [[15.0, 85.0], [91.0, 100.0]]},
        small_classes=['a'],
    )
    assert plain.shape == with_bars.shape
    assert np.abs(plain.astype(int) - with_bars).sum() > 0


@pytest.mark.parametrize('confidence', [0.95, 0.9])
def test_the_quiet_console_shows_the_intervals_table_at_any_confidence(confidence):
    import logging

    from mmtl.engine.hooks.progress_bar_hook import QuietConsole
    from mmtl.evaluation.statistics import classification_intervals, format_intervals

    labels = np.array([0, 0, 1, 1, 1])
    intervals = classification_intervals(np.eye(2)[[0, 1, 1, 1, 0]], labels, confidence, 200)
    table = '\n'.join(format_intervals(intervals, ['a', 'b']))
    assert table.startswith(f'Test figures with {round(100 * confidence)} % intervals over 5')
    record = logging.LogRecord('mmengine', logging.INFO, __file__, 1, table, None, None)
    assert QuietConsole().filter(record)
