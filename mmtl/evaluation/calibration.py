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


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, num_bins: int = 10) -> dict:
    """Top-1 confidence against accuracy in equal-width confidence bins.

    Args:
        probabilities (np.ndarray): ``N x C`` class probabilities.
        labels (np.ndarray): ``N`` true labels.
        num_bins (int): Bins over ``[0, 1]``. Defaults to 10.

    Returns:
        dict: ``edges`` (``num_bins + 1``), and per bin ``count``, ``confidence`` (mean top-1
        probability, %) and ``accuracy`` (%); the last two are None for empty bins.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, num_bins - 1)
    bins = {'edges': edges.round(6).tolist(), 'count': [], 'confidence': [], 'accuracy': []}
    for b in range(num_bins):
        members = index == b
        bins['count'].append(int(members.sum()))
        bins['confidence'].append(
            100 * float(confidence[members].mean()) if members.any() else None
        )
        bins['accuracy'].append(100 * float(correct[members].mean()) if members.any() else None)
    return bins


def expected_calibration_error(bins: dict) -> float:
    """ECE in points: the count-weighted mean gap between confidence and accuracy.

    Args:
        bins (dict): What :func:`reliability_bins` returned.

    Returns:
        float: 0 for a perfectly calibrated model; 59 for one that says 1.000 and is right
        41 % of the time.
    """
    total = sum(bins['count'])
    gaps = [
        count * abs(accuracy - confidence)
        for count, accuracy, confidence in zip(bins['count'], bins['accuracy'], bins['confidence'])
        if count
    ]
    return float(sum(gaps) / total) if total else float('nan')


#: The temperatures :func:`fit_temperature` searches.
TEMPERATURE_RANGE = (0.05, 20.0)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T that minimises the log loss of ``softmax(log p / T)``.

    ``log p`` equals the logits up to a per-image constant, so dividing it by T is
    temperature scaling of the logits (Guo et al., 2017): the predicted class never
    changes, only how sure the model says it is. Fit it on val images, never on test.

    Args:
        probabilities (np.ndarray): ``N x C`` softmax scores at temperature 1.
        labels (np.ndarray): ``N`` true labels.

    Returns:
        float: T in :data:`TEMPERATURE_RANGE`; above 1 softens over-confident scores.

    Raises:
        ValueError: The log loss has no minimum inside the range: it keeps falling as T
            shrinks when val has no mistake (a model right on every val image could be
            made sure of everything), or as T grows when it is no better than chance.
    """
    from scipy.optimize import minimize_scalar

    log_p = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), MIN_PROBABILITY, 1.0))
    labels = np.asarray(labels, dtype=np.int64)

    def loss(log_t: float) -> float:
        return log_loss(apply_temperature(log_p, np.exp(log_t), is_log=True), labels)

    bounds = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(loss, bounds=bounds, method='bounded')
    if min(abs(best.x - bounds)) < 0.01:
        accuracy = 100 * float((log_p.argmax(axis=1) == labels).mean())
        why = (
            'the model gets every val image right: it could be made sure of everything'
            if best.x < bounds.mean()
            else 'the scores say nothing about the labels'
        )
        raise ValueError(
            f'the log loss has no minimum for T in {list(TEMPERATURE_RANGE)} (val top-1 '
            f'{accuracy:.1f} % on {len(labels)} images): {why}'
        )
    return float(np.exp(best.x))


def apply_temperature(scores: np.ndarray, temperature: float, is_log: bool = False) -> np.ndarray:
    """``softmax(log p / T)`` of probabilities (or of log-probabilities with ``is_log``)."""
    from scipy.special import softmax

    log_p = scores if is_log else np.log(np.clip(scores, MIN_PROBABILITY, 1.0))
    return softmax(log_p / temperature, axis=1)
