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
from mmtl.visualization import plot_reliability_diagram


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
