"""Test-set metrics (report, confusion matrix, ROC/AUC, binary threshold), their JSON and plots."""

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.apis.runner_setup import save_test_metrics
from mmtl.evaluation.metrics import (
    ROCAUC,
    BinaryThreshold,
    Calibration,
    ClassificationReport,
    ConfusionMatrix,
    youden_threshold,
)
from mmtl.registry import METRICS
from mmtl.visualization.evaluation_plots import (
    PLOT_FILES,
    plot_test_metrics,
    plot_test_metrics_file,
    read_test_metrics,
)
from mmtl.visualization.figure import DPI
from mmtl.visualization.metric_plots import normalize_rows, plot_confusion_matrix


def samples_from_scores(scores, labels):
    """Data samples as the model's test step gives them to metrics."""
    return [
        {'pred_score': torch.as_tensor(s, dtype=torch.float32), 'gt_label': torch.tensor([int(y)])}
        for s, y in zip(scores, labels)
    ]


def samples_from_predictions(preds, labels, num_classes):
    """Samples whose top-1 class is ``preds[i]`` (score 0.7, the rest shared)."""
    scores = np.full((len(preds), num_classes), 0.3 / (num_classes - 1))
    scores[np.arange(len(preds)), preds] = 0.7
    return samples_from_scores(scores, labels)


def evaluate(metric, samples, classes=None, batch=4):
    """Feed ``samples`` in batches, as the test loop does, and evaluate."""
    if classes is not None:
        metric.dataset_meta = {'classes': classes}
    for start in range(0, len(samples), batch):
        metric.process(None, samples[start : start + batch])
    return metric.evaluate(size=len(samples))


# --------------------------------------------------------------------------------------------
# ConfusionMatrix
# --------------------------------------------------------------------------------------------


def test_confusion_matrix_matches_hand_count_and_sums_to_samples():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    preds = [0, 0, 1, 1, 2, 2, 2, 0, 2]
    # By hand: true 0 -> predicted 0 twice, 1 once; true 1 -> 1 once, 2 once;
    # true 2 -> 2 three times, 0 once.
    expected = [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    metrics = evaluate(
        ConfusionMatrix(), samples_from_predictions(preds, labels, 3), ['cat', 'dog', 'fox']
    )
    counts = metrics['confusion_matrix/counts']
    assert counts.tolist() == expected
    assert int(counts.sum()) == len(labels)
    assert metrics['confusion_matrix/classes'] == ['cat', 'dog', 'fox']


def test_confusion_matrix_is_built_from_registry_without_class_names():
    metric = METRICS.build(dict(type='ConfusionMatrix'))
    assert type(metric) is ConfusionMatrix
    metrics = evaluate(metric, samples_from_predictions([1, 1], [0, 1], 2))
    assert metrics['confusion_matrix/classes'] == ['0', '1']
    assert metrics['confusion_matrix/counts'].tolist() == [[0, 1], [0, 1]]


# --------------------------------------------------------------------------------------------
# ClassificationReport
# --------------------------------------------------------------------------------------------


def test_report_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(3)
    num_classes = 5
    labels = rng.integers(0, num_classes, 200)
    scores = rng.random((200, num_classes))
    scores[:, 4] = 0.0  # class 4 is never predicted: precision 0 by convention
    preds = scores.argmax(axis=1)

    metrics = evaluate(
        ClassificationReport(), samples_from_scores(scores, labels), list('abcde'), batch=16
    )

    precision, recall, f1, support = precision_recall_fscore_support(
        labels, preds, labels=range(num_classes), zero_division=0
    )
    assert metrics['report/classes'] == list('abcde')
    assert metrics['report/support'] == support.tolist()
    assert sum(metrics['report/support']) == 200
    assert np.allclose(metrics['report/precision'], 100 * precision, atol=1e-4)
    assert np.allclose(metrics['report/recall'], 100 * recall, atol=1e-4)
    assert np.allclose(metrics['report/f1'], 100 * f1, atol=1e-4)
    assert metrics['report/precision'][4] == 0.0
    for average in ('macro', 'micro'):
        p, r, f, _ = precision_recall_fscore_support(
            labels, preds, labels=range(num_classes), average=average, zero_division=0
        )
        assert metrics[f'report/{average}_precision'] == pytest.approx(100 * p, abs=1e-4)
        assert metrics[f'report/{average}_recall'] == pytest.approx(100 * r, abs=1e-4)
        assert metrics[f'report/{average}_f1'] == pytest.approx(100 * f, abs=1e-4)
    # Single-label micro averages are the accuracy.
    assert metrics['report/micro_f1'] == pytest.approx(100 * np.mean(preds == labels), abs=1e-4)


def test_report_class_without_test_images_has_zero_recall_and_support():
    metrics = evaluate(ClassificationReport(), samples_from_predictions([0, 1, 0], [0, 1, 1], 3))
    assert metrics['report/support'] == [1, 2, 0]
    assert metrics['report/recall'][2] == 0.0
    assert metrics['report/recall'][1] == pytest.approx(50.0)
    assert metrics['report/precision'][0] == pytest.approx(50.0)


def test_scores_missing_is_an_error_naming_the_metric():
    metric = ClassificationReport()
    with pytest.raises(KeyError, match='ClassificationReport needs the scores'):
        metric.process(None, [{'pred_label': torch.tensor([0]), 'gt_label': torch.tensor([0])}])


# --------------------------------------------------------------------------------------------
# ROCAUC
# --------------------------------------------------------------------------------------------


def binary_scores(positive_scores):
    """Two-class softmax-like scores from the positive class's score."""
    positive_scores = np.asarray(positive_scores, dtype=np.float64)
    return np.stack([1 - positive_scores, positive_scores], axis=1)


LABELS_2 = np.array([0, 0, 0, 1, 1, 1, 0, 1])
PERFECT_2 = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.05, 0.6])


def test_binary_auc_perfect_is_one_and_reversed_is_zero():
    perfect = evaluate(ROCAUC(), samples_from_scores(binary_scores(PERFECT_2), LABELS_2))
    reversed_ = evaluate(ROCAUC(), samples_from_scores(binary_scores(1 - PERFECT_2), LABELS_2))
    assert perfect['roc/auc'] == pytest.approx(1.0)
    assert reversed_['roc/auc'] == pytest.approx(0.0)
    curve = perfect['roc/curves'][0]
    assert curve['class'] == perfect['roc/pos_class'] == '1'
    assert (curve['fpr'][0], curve['tpr'][0]) == (0.0, 0.0)
    assert (curve['fpr'][-1], curve['tpr'][-1]) == (1.0, 1.0)
    assert [0.0, 1.0] in [list(point) for point in zip(curve['fpr'], curve['tpr'])]


def test_binary_auc_positive_class_by_name_swaps_the_curve():
    scores = binary_scores(PERFECT_2)
    metrics = evaluate(
        ROCAUC(pos_label='healthy'), samples_from_scores(scores, LABELS_2), ['healthy', 'sick']
    )
    # Class 0 scored with 1 - p: still a perfect ranking of its own samples.
    assert metrics['roc/pos_class'] == 'healthy'
    assert metrics['roc/auc'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pos_label='ill' is not a class name"):
        evaluate(ROCAUC(pos_label='ill'), samples_from_scores(scores, LABELS_2), ['a', 'b'])


def test_binary_auc_matches_sklearn_on_noisy_scores():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    positive = np.clip(0.3 * labels + rng.random(300) * 0.7, 0, 1)
    metrics = evaluate(ROCAUC(curves=False), samples_from_scores(binary_scores(positive), labels))
    assert 'roc/curves' not in metrics
    expected = roc_auc_score(labels, positive.astype(np.float32))
    assert metrics['roc/auc'] == pytest.approx(expected)
    assert 0.5 < metrics['roc/auc'] < 1.0


def test_multiclass_one_vs_rest_auc_per_class_and_macro():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 25)
    scores = rng.random((100, 4))
    scores[np.arange(100), labels] += 0.5 * (labels != 3)  # classes 0-2 well separated
    scores /= scores.sum(axis=1, keepdims=True)
    metrics = evaluate(ROCAUC(), samples_from_scores(scores, labels), ['a', 'b', 'c', 'd'])
    expected = [roc_auc_score(labels == c, scores[:, c].astype(np.float32)) for c in range(4)]
    assert metrics['roc/classes'] == ['a', 'b', 'c', 'd']
    assert np.allclose(metrics['roc/auc_classwise'], expected)
    assert metrics['roc/auc'] == pytest.approx(np.mean(expected))
    assert [curve['class'] for curve in metrics['roc/curves']] == ['a', 'b', 'c', 'd']


def test_multiclass_perfect_scores_give_auc_one_and_missing_class_none():
    labels = np.array([0, 0, 1, 1, 2, 2])  # class 3 has no test image
    scores = np.eye(4)[labels] * 0.9 + 0.025
    metrics = evaluate(ROCAUC(), samples_from_scores(scores, labels))
    assert metrics['roc/auc_classwise'] == [1.0, 1.0, 1.0, None]
    assert metrics['roc/auc'] == 1.0
    assert metrics['roc/curves'][3] == {'class': '3', 'fpr': [], 'tpr': [], 'auc': None}
    json.dumps(metrics['roc/curves'], allow_nan=False)  # strict JSON


# --------------------------------------------------------------------------------------------
# BinaryThreshold
# --------------------------------------------------------------------------------------------


def test_youden_threshold_on_separable_data_gives_perfect_rates():
    metrics = evaluate(BinaryThreshold(), samples_from_scores(binary_scores(PERFECT_2), LABELS_2))
    assert metrics['threshold/rule'] == 'youden'
    # The highest threshold that keeps all positives: the lowest positive score.
    assert metrics['threshold/value'] == pytest.approx(0.6)
    assert metrics['threshold/sensitivity'] == 1.0
    assert metrics['threshold/specificity'] == 1.0
    assert metrics['threshold/accuracy'] == 1.0
    assert (metrics['threshold/tp'], metrics['threshold/tn']) == (4, 4)


def test_fixed_threshold_counts_by_hand():
    positive = [0.1, 0.4, 0.6, 0.3, 0.55, 0.9, 0.2, 0.45]
    # labels:    0    0    0    1    1     1    0    1
    # >= 0.5:    no   no   yes  no   yes   yes  no   no  -> tp 2, fn 2, tn 3, fp 1
    metrics = evaluate(
        BinaryThreshold(threshold=0.5), samples_from_scores(binary_scores(positive), LABELS_2)
    )
    assert metrics['threshold/rule'] == 'fixed'
    assert metrics['threshold/value'] == 0.5
    got = [metrics[f'threshold/{key}'] for key in ('tp', 'fn', 'tn', 'fp')]
    assert got == [2, 2, 3, 1]
    assert metrics['threshold/sensitivity'] == pytest.approx(2 / 4)
    assert metrics['threshold/specificity'] == pytest.approx(3 / 4)
    assert metrics['threshold/precision'] == pytest.approx(2 / 3)


def test_youden_threshold_maximises_j_over_all_cut_points():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 120).astype(bool)
    scores = np.clip(0.25 * labels + rng.random(120) * 0.75, 0, 1)
    chosen = youden_threshold(labels, scores)

    def j(threshold):
        predicted = scores >= threshold
        return predicted[labels].mean() + (~predicted[~labels]).mean() - 1

    best = max(j(t) for t in np.unique(scores))
    assert j(chosen) == pytest.approx(best)
    assert best > 0


def test_threshold_skips_more_than_two_classes_and_rejects_unknown_rule():
    metrics = evaluate(BinaryThreshold(), samples_from_predictions([0, 1, 2], [0, 1, 2], 3))
    assert metrics == {}
    with pytest.raises(ValueError, match="threshold='best'"):
        BinaryThreshold(threshold='best')


def test_base_test_evaluator_builds_all_metrics_and_val_stays_light():
    from pathlib import Path

    from mmtl.config import load_config

    config = Path(__file__).resolve().parents[2] / 'configs' / 'mobilenet-v2_digits.py'
    cfg = load_config(str(config))
    types = [METRICS.build(entry) for entry in cfg.test_evaluator]
    assert [type(metric).__name__ for metric in types] == [
        'Accuracy',
        'ClassificationReport',
        'ConfusionMatrix',
        'ROCAUC',
        'BinaryThreshold',
    ]
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, 5))


# --------------------------------------------------------------------------------------------
# test_metrics.json and plots
# --------------------------------------------------------------------------------------------


def all_metrics(num_classes=3, per_class=6, seed=0):
    """Every metric of the base test evaluator on random scores, as runner.test() returns."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), per_class)
    scores = rng.random((len(labels), num_classes))
    scores[np.arange(len(labels)), labels] += 0.6
    scores /= scores.sum(axis=1, keepdims=True)
    samples = samples_from_scores(scores, labels)
    classes = [f'class_{i}' for i in range(num_classes)]
    metrics = {}
    for metric in (
        ClassificationReport(),
        ConfusionMatrix(),
        ROCAUC(),
        BinaryThreshold(),
        Calibration(),
    ):
        metrics.update(evaluate(metric, samples, classes))
    return metrics


def test_save_test_metrics_writes_strict_json(tmp_path):
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        cfg=SimpleNamespace(filename='cfg.py', load_from='best.pth'),
        logger=SimpleNamespace(info=lambda message: None),
    )
    metrics = dict(all_metrics(), **{'extra/nan': float('nan'), 'extra/np': np.float32(0.5)})
    path = save_test_metrics(runner, metrics)
    with open(path) as f:
        record = json.load(f)  # would fail on NaN written as a bare token
    saved = record['metrics']
    assert record['checkpoint'] == 'best.pth'
    assert saved['confusion_matrix/counts'] == metrics['confusion_matrix/counts'].tolist()
    assert sum(map(sum, saved['confusion_matrix/counts'])) == 18
    assert saved['extra/nan'] is None
    assert saved['extra/np'] == 0.5
    assert saved['roc/curves'][0]['class'] == 'class_0'


def test_normalized_confusion_matrix_rows_are_recalls():
    counts = np.array([[3, 1, 0], [0, 0, 0], [2, 2, 4]])
    normalized = normalize_rows(counts)
    assert np.allclose(normalized[0], [0.75, 0.25, 0.0])
    assert np.allclose(normalized[1], 0.0)  # no test images of class 1: no division by 0
    assert np.allclose(normalized[2], [0.25, 0.25, 0.5])


def test_confusion_matrix_plot_file_decodes_at_the_requested_size(tmp_path):
    out = str(tmp_path / 'plots' / 'cm.png')
    drawn = plot_confusion_matrix(
        [[5, 1], [2, 7]], ['cat', 'dog'], out_file=out, figsize=(4.0, 3.0)
    )
    image = cv2.imread(out)
    assert image.shape == (3 * DPI, 4 * DPI, 3)
    assert np.array_equal(image[..., ::-1], drawn)
    assert image.std() > 10  # something was drawn


def test_plot_test_metrics_writes_every_plot_from_the_json(tmp_path, capsys):
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        cfg=SimpleNamespace(filename='cfg.py', load_from='best.pth'),
        logger=SimpleNamespace(info=lambda message: None),
    )
    save_test_metrics(runner, all_metrics(num_classes=4))
    written = plot_test_metrics_file(str(tmp_path))  # the work dir
    assert written == [str(tmp_path / 'test_plots' / name) for name in PLOT_FILES.values()]
    for path in written:
        image = cv2.imread(path)
        assert image is not None and image.shape[2] == 3 and image.std() > 10, path

    # With no plottable metric the function says what is missing.
    (tmp_path / 'only_accuracy.json').write_text(json.dumps({'metrics': {'accuracy/top1': 1}}))
    with pytest.raises(ValueError, match='none of the metrics that are plotted'):
        plot_test_metrics_file(str(tmp_path / 'only_accuracy.json'))


def test_read_test_metrics_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'test_metrics.json')):
        read_test_metrics(str(tmp_path))
    bad = tmp_path / 'bad.json'
    bad.write_text('[1, 2]')
    with pytest.raises(ValueError, match='bad.json has no "metrics"'):
        read_test_metrics(str(bad))


def test_binary_metrics_plot_one_roc_curve(tmp_path):
    metrics = all_metrics(num_classes=2)
    assert metrics['threshold/pos_class'] == 'class_1'
    written = plot_test_metrics(metrics, str(tmp_path))
    assert len(written) == 4
    assert len(metrics['roc/curves']) == 1
