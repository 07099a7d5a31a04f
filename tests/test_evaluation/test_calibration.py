"""ECE, reliability bins and temperature scaling (mmtl.evaluation.calibration)."""

import numpy as np
import pytest

from mmtl.evaluation.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    log_loss,
    reliability_bins,
)
from mmtl.visualization.metric_plots import plot_reliability_diagram


def test_an_always_sure_model_right_41_percent_has_ece_59():
    labels = np.zeros(100, dtype=int)
    probabilities = np.tile([0.0, 1.0], (100, 1))
    probabilities[:41] = [1.0, 0.0]  # sure and right on 41 images, sure and wrong on 59
    bins = reliability_bins(probabilities, labels)
    assert bins['count'][-1] == 100 and sum(bins['count']) == 100
    assert bins['accuracy'][-1] == pytest.approx(41.0)
    assert expected_calibration_error(bins) == pytest.approx(59.0)


def test_calibrated_scores_have_small_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.random(20000) < confidence  # right exactly as often as it says
    labels = np.where(correct, 0, 1)
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    assert expected_calibration_error(reliability_bins(probabilities, labels)) < 1.5


def test_fitted_temperature_is_the_closed_form_minimum_of_the_log_loss():
    # Two classes, logits (a, -a) on every image, right on a fraction q of them: the log loss
    # -q log s(2a/T) - (1-q) log(1 - s(2a/T)) is least where s(2a/T) = q, T = 2a / logit(q).
    a, q = 3.0, 0.8
    labels = np.r_[np.zeros(80, dtype=int), np.ones(20, dtype=int)]
    probabilities = apply_temperature(np.tile([a, -a], (100, 1)), 1.0, is_log=True)
    assert fit_temperature(probabilities, labels) == pytest.approx(
        2 * a / np.log(q / (1 - q)), rel=1e-4
    )


def test_a_val_split_without_mistakes_or_without_signal_has_no_temperature():
    labels = np.array([0, 1, 1, 0])
    right = np.array([[0.6, 0.4], [0.3, 0.7], [0.45, 0.55], [0.9, 0.1]])
    with pytest.raises(ValueError, match=r'\(val top-1 100.0 % on 4 images\): .* every val'):
        fit_temperature(right, labels)
    with pytest.raises(ValueError, match='the scores say nothing about the labels'):
        # right on half the images, as sure when wrong as when right: best as uniform scores
        fit_temperature(np.tile([[0.6, 0.4], [0.4, 0.6]], (2, 1)), np.array([0, 0, 1, 1]))


def test_temperature_softens_an_over_confident_model_and_keeps_its_predictions():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 2000)
    logits = rng.normal(size=(2000, 3)) + 1.5 * np.eye(3)[labels]
    sharp = apply_temperature(4 * logits, 1.0, is_log=True)  # softmax(4 x logits)
    temperature = fit_temperature(sharp, labels)
    assert temperature == pytest.approx(4 / 1.5, rel=0.15)  # the Bayes posterior: 1.5 x
    scaled = apply_temperature(sharp, temperature)
    assert (scaled.argmax(1) == sharp.argmax(1)).all()
    assert log_loss(scaled, labels) < log_loss(sharp, labels)
    before = expected_calibration_error(reliability_bins(sharp, labels))
    after = expected_calibration_error(reliability_bins(scaled, labels))
    assert after < before / 3


def test_reliability_diagram_draws(tmp_path):
    labels = np.array([0, 1, 1, 0])
    bins = reliability_bins(np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]]), labels)
    image = plot_reliability_diagram(bins, str(tmp_path / 'r.png'), ece=12.5)
    assert image.ndim == 3 and image.std() > 10
