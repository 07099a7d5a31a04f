"""Intervals and paired tests of mmtl.evaluation.statistics against closed forms."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from mmtl.evaluation.statistics import (
    accuracy_interval,
    bootstrap_bounds,
    classification_intervals,
    compare_correct,
    format_intervals,
    mcnemar,
    paired_bootstrap,
    weighted_auc,
    wilson_interval,
)

Z = 1.959963984540054  # the 97.5 % normal quantile


def test_wilson_closed_form_at_the_edges():
    # 0 of n: the upper bound is z^2 / (n + z^2); n of n: the lower bound is n / (n + z^2)
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(100 * Z**2 / (10 + Z**2))
    low, high = wilson_interval(5, 5)
    assert low == pytest.approx(100 * 5 / (5 + Z**2))
    assert high == 100.0


def test_wilson_matches_the_normal_interval_on_many_images():
    p, n = 0.8, 10000
    low, high = wilson_interval(int(p * n), n)
    half = 100 * Z * np.sqrt(p * (1 - p) / n)
    assert low == pytest.approx(80 - half, abs=0.02)
    assert high == pytest.approx(80 + half, abs=0.02)


def test_bootstrap_of_an_accuracy_agrees_with_the_normal_interval():
    correct = np.zeros(400, dtype=bool)
    correct[:320] = True  # 80 % of 400: the normal interval is 80 +- 3.92
    low, high = bootstrap_bounds(lambda index: 100 * correct[index].mean(axis=1), [range(400)])
    half = 100 * Z * np.sqrt(0.8 * 0.2 / 400)
    assert low == pytest.approx(80 - half, abs=0.8)
    assert high == pytest.approx(80 + half, abs=0.8)
    again = bootstrap_bounds(lambda index: 100 * correct[index].mean(axis=1), [range(400)])
    assert again == (low, high)  # fixed seed


def test_a_stratified_bootstrap_keeps_the_class_counts_and_single_images():
    seen = []

    def count_first_class(index):
        seen.append(index)
        return (index < 3).sum(axis=1).astype(float)

    low, high = bootstrap_bounds(
        count_first_class, [range(3), range(3, 10), [10]], num_resamples=200
    )
    assert low == high == 3.0  # three images of the first group in every resample
    assert all((rows[:, -1] == 10).all() for rows in seen)  # the single image stays
    assert bootstrap_bounds(lambda index: index.sum(axis=1) + 1.0, [[0]]) == (1.0, 1.0)


def test_all_correct_is_not_a_point():
    interval = accuracy_interval([True] * 5)
    assert interval.estimate == 100.0
    assert interval.low == pytest.approx(100 * 5 / (5 + Z**2))
    assert interval.high == 100.0


def test_weighted_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(1)
    positive = rng.random(60) < 0.4
    scores = np.round(rng.random(60) + positive * 0.3, 1)  # rounded: many ties
    auc = weighted_auc(positive, scores, np.ones((1, 60), dtype=np.int64))[0]
    assert auc == pytest.approx(roc_auc_score(positive, scores))
    # weights = counts: the same as repeating the images
    weights = rng.integers(0, 3, (1, 60))
    repeated = np.repeat(np.arange(60), weights[0])
    expected = roc_auc_score(positive[repeated], scores[repeated])
    assert weighted_auc(positive, scores, weights)[0] == pytest.approx(expected)


def test_classification_intervals_estimates_and_flags():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(40), np.ones(40), np.full(3, 2)].astype(int)
    scores = rng.random((labels.size, 3)) + 0.8 * np.eye(3)[labels]
    result = classification_intervals(scores, labels)
    preds = scores.argmax(1)
    assert result['top1']['estimate'] == pytest.approx(100 * (preds == labels).mean())
    macro = 100 * f1_score(labels, preds, average='macro', zero_division=0)
    assert result['macro_f1']['estimate'] == pytest.approx(macro)
    auc = np.mean([roc_auc_score(labels == c, scores[:, c]) for c in range(3)])  # as ROCAUC
    assert result['auc']['estimate'] == pytest.approx(auc)
    for name in ('top1', 'macro_f1', 'auc'):
        assert result[name]['low'] <= result[name]['estimate'] <= result[name]['high']
    assert result['support'] == [40, 40, 3]
    assert result['small_classes'] == [2]
    # the class of 3 images has a far wider recall interval than those of 40
    widths = [r['high'] - r['low'] for r in result['recall']]
    assert widths[2] > 2 * max(widths[:2])
    lines = format_intervals(result, ['cat', 'dog', 'bird\x1b[31m'])
    assert any('bird\\x1b[31m' in line and 'few test images' in line for line in lines)
    assert not any('\x1b' in line for line in lines)


def test_mcnemar_textbook_examples():
    # Agresti, Categorical Data Analysis: approval ratings, discordant 150 and 86;
    # with continuity correction (|86 - 150| - 1)^2 / 236 = 16.82, p = 4.1e-5
    test = mcnemar(150, 86)
    assert test.method == 'chi2'
    assert test.statistic == pytest.approx(16.818, abs=1e-3)
    assert test.p_value == pytest.approx(4.11e-5, rel=0.01)
    # exact: 1 against 7 discordant, p = 2 * (1 + 8) / 2^8
    test = mcnemar(1, 7)
    assert test.method == 'exact'
    assert test.p_value == pytest.approx(18 / 256)
    assert mcnemar(0, 0).p_value == 1.0


def test_paired_comparison_says_noise_or_not():
    same = np.r_[np.ones(20), np.zeros(10)].astype(bool)
    assert paired_bootstrap(same, same).to_dict() == {
        'estimate': 0.0,
        'low': 0.0,
        'high': 0.0,
        'method': 'bootstrap',
    }
    one_more = same.copy()
    one_more[25] = True  # one image of 30: +3.3 points
    comparison = compare_correct(same, one_more)
    assert comparison.could_be_noise
    assert 'could be noise' in comparison.verdict('scratch', 'fine-tuned')
    a = np.r_[np.ones(100), np.zeros(100)].astype(bool)
    b = np.ones(200, dtype=bool)
    b[:5] = False  # B right on all 100 of A's misses, wrong on 5 of its hits
    comparison = compare_correct(a, b)
    assert not comparison.could_be_noise
    assert comparison.difference.estimate == pytest.approx(47.5)
    assert comparison.verdict('A', 'B').endswith('B is better')


def test_paired_comparison_refuses_different_test_sets():
    with pytest.raises(ValueError, match='same test images: 3 and 4'):
        compare_correct([True] * 3, [True] * 4)
