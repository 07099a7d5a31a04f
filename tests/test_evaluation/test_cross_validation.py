"""Folds, their summary and confident-learning label issues (mmtl.evaluation.cross_validation)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from mmtl.evaluation.cross_validation import fold_splits, label_issues, summarize


def test_folds_cover_every_image_once_per_repeat_and_never_mix_parts():
    labels = np.repeat([0, 1, 2], [10, 7, 5])
    splits = fold_splits(labels, folds=5, repeats=2, seed=3)
    assert [s.name for s in splits[:2]] == ['r0_f0', 'r0_f1']
    assert len(splits) == 10
    for repeat in (0, 1):
        tested = sorted(i for s in splits if s.repeat == repeat for i in s.test)
        assert tested == list(range(len(labels)))
    for split in splits:
        parts = [set(split.train), set(split.val), set(split.test)]
        assert sum(map(len, parts)) == len(labels)
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert set(labels[split.test]) == {0, 1, 2}  # stratified: every class in every fold
    assert splits[0].val == splits[1].test  # run f validates on fold f + 1
    assert splits[0].test != splits[5].test  # the second repeat reshuffles


def test_folds_refuse_classes_smaller_than_k():
    with pytest.raises(ValueError, match=r'classes \[1\] have fewer than 5 images'):
        fold_splits([0] * 10 + [1] * 4, folds=5)
    with pytest.raises(ValueError, match='folds=2'):
        fold_splits([0] * 10, folds=2)


def test_summary_is_mean_std_and_t_interval():
    summary = summarize([80.0, 90.0, 85.0, 95.0])
    assert summary['mean'] == 87.5
    assert summary['std'] == pytest.approx(np.std([80, 90, 85, 95], ddof=1))
    # t(0.975, 3) = 3.182
    half = 3.1824 * summary['std'] / 2
    assert summary['low'] == pytest.approx(87.5 - half, abs=1e-3)
    assert summary['high'] == pytest.approx(87.5 + half, abs=1e-3)


def test_planted_mislabelled_digits_are_among_the_top_suspects():
    digits = load_digits()
    keep = digits.target < 5
    x, y = digits.data[keep] / 16.0, digits.target[keep].copy()
    rng = np.random.default_rng(0)
    planted = rng.choice(len(y), size=12, replace=False)
    y[planted] = (y[planted] + rng.integers(1, 5, size=12)) % 5  # a wrong label each
    probabilities = cross_val_predict(
        LogisticRegression(max_iter=500), x, y, cv=5, method='predict_proba'
    )
    issues = label_issues(probabilities, y)
    top = {issue.index for issue in issues[:24]}
    assert len(top & set(planted.tolist())) >= 10  # most of the 12, in the first 24 of 900
    flagged = {issue.index for issue in issues if issue.flagged}
    assert len(flagged & set(planted.tolist())) >= 10
    assert len(flagged) < 40  # and not a flag on every hard image
    first = issues[0]
    assert first.flagged and first.given != first.suggested
    assert probabilities[first.index, first.suggested] == pytest.approx(first.suggested_probability)
