"""How far predicted probabilities can be trusted: log loss, calibration error, temperature."""

import numpy as np

#: Probabilities are clipped here so that one confident mistake gives a large, finite loss.
MIN_PROBABILITY = 1e-12


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean ``-log p(true class)`` of ``N x C`` probabilities (rows sum to 1).

    Args:
        probabilities (np.ndarray): Class probabilities (the model's softmax output).
        labels (np.ndarray): True labels.

    Returns:
        float: The mean cross-entropy in nats.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    true_class = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(true_class, MIN_PROBABILITY, 1.0)).mean())
