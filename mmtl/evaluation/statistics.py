"""Uncertainty of test figures on small data: intervals and paired comparisons.

A proportion (top-1, one class's precision or recall) gets the Wilson score interval, which
stays wide at 0 % and 100 % (a bootstrap of 5 right out of 5 collapses to 100 %); every
other figure (F1, macro-F1, AUC, the difference of two models) a seeded percentile
bootstrap over the test images. Two models tested on the same images are compared per
image: McNemar's test and a paired bootstrap (:func:`compare_correct`). Figures are in %,
like mmpretrain's, except AUC (a fraction) and p-values.
"""

from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmtl.utils.prediction_rows import safe_text

#: Resamples of every bootstrap; 2000 keeps the Monte-Carlo error of a 95 % bound below
#: about half a percentage point.
NUM_RESAMPLES = 2000
#: The seed of every bootstrap, so that the same predictions give the same interval.
SEED = 0
#: A class with fewer test images than this is flagged as too small to judge.
MIN_CLASS_SUPPORT = 5
#: Below this many discordant images McNemar's test is the exact binomial one.
EXACT_MCNEMAR_BELOW = 25
#: Bound on resamples x images x classes of the AUC bootstrap, so that it stays seconds long;
#: larger test sets get fewer AUC resamples, at least :data:`MIN_AUC_RESAMPLES`.
AUC_BOOTSTRAP_BUDGET = 10**8
MIN_AUC_RESAMPLES = 200
#: Resamples drawn at once (bounds the memory of a ``batch x N`` index matrix).
_BATCH = 250


@dataclass
class Interval:
    """A figure with its confidence interval.

    Attributes:
        estimate (float): The figure on the data as it is.
        low (float): Lower bound.
        high (float): Upper bound.
        method (str): ``'wilson'`` or ``'bootstrap'``.
    """

    estimate: float
    low: float
    high: float
    method: str

    def to_dict(self) -> dict:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)

    def format(self, digits: int = 1) -> str:
        """``'64.5 [52.1, 75.3]'``."""
        return f'{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]'


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> Tuple[float, float]:
    """The Wilson score interval of a proportion, in %.

    Args:
        successes (int): Successes (e.g. correct images).
        total (int): Trials (e.g. test images).
        confidence (float): Coverage. Defaults to 0.95.

    Returns:
        tuple[float, float]: Lower and upper bound in %; ``(0, 100)`` when ``total`` is 0.
    """
    from scipy.stats import binomtest

    if total == 0:
        return 0.0, 100.0
    bounds = binomtest(int(successes), int(total)).proportion_ci(confidence, method='wilson')
    # rounded so that the edges read 0 and 100, not 6.9e-16 and 99.99999999999999
    low, high = (round(100 * float(bound), 10) for bound in (bounds.low, bounds.high))
    return max(0.0, low), min(100.0, high)


def bootstrap_bounds(
    statistic: Callable[[np.ndarray], np.ndarray],
    groups: Sequence[np.ndarray],
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = SEED,
) -> Tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap bounds of a statistic of image indices (``scipy.stats.bootstrap``).

    Args:
        statistic (Callable): Takes a ``B x N`` matrix of image indices (each row one
            resample) and returns ``B`` values, or ``K x B`` for K figures at once.
        groups (Sequence[np.ndarray]): Image indices resampled with replacement, each group
            on its own (several groups: a stratified bootstrap); a group of one image stays.
        confidence (float): Coverage. Defaults to 0.95.
        num_resamples (int): Resamples. Defaults to :data:`NUM_RESAMPLES`.
        seed (int): Seed, so that the same data give the same interval. Defaults to
            :data:`SEED`.

    Returns:
        tuple[np.ndarray, np.ndarray]: Lower and upper bounds (scalars, or K each).
    """
    from scipy.stats import bootstrap

    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    fixed = np.concatenate([np.empty(0, np.int64)] + [g for g in groups if g.size == 1])
    resampled = [g for g in groups if g.size > 1]
    if not resampled:  # nothing varies: one image, or one per group
        value = np.asarray(statistic(fixed[None]))[..., 0]
        return value, value

    def on_indices(*parts: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = parts[0].shape[:-1]
        return statistic(np.concatenate([*parts, np.broadcast_to(fixed, (*rows, fixed.size))], -1))

    result = bootstrap(
        resampled,
        on_indices,
        vectorized=True,
        n_resamples=num_resamples,
        batch=_BATCH,
        confidence_level=confidence,
        method='percentile',
        rng=np.random.default_rng(seed),
    )
    return result.confidence_interval.low, result.confidence_interval.high


def accuracy_interval(correct: Sequence[bool], confidence: float = 0.95) -> Interval:
    """Top-1 accuracy in % with its Wilson interval.

    Args:
        correct (Sequence[bool]): Per image, whether the prediction is right.
        confidence (float): Coverage. Defaults to 0.95.

    Returns:
        Interval: Accuracy and bounds in %.
    """
    correct = np.asarray(correct, dtype=bool)
    low, high = wilson_interval(int(correct.sum()), correct.size, confidence)
    estimate = 100 * correct.mean() if correct.size else float('nan')
    return Interval(float(estimate), low, high, 'wilson')


def f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Per-class F1 in % from confusion counts (rows true, columns predicted).

    The convention is mmpretrain's: a class never predicted has precision 0, one without
    images has recall 0, and F1 is 0 when both are.

    Args:
        confusion (np.ndarray): ``... x C x C`` counts.

    Returns:
        np.ndarray: ``... x C`` F1 values.
    """
    tp = np.diagonal(confusion, axis1=-2, axis2=-1).astype(np.float64)
    precision = 100 * tp / np.maximum(confusion.sum(axis=-2), 1)
    recall = 100 * tp / np.maximum(confusion.sum(axis=-1), 1)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def weighted_auc(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One-vs-rest AUC of one class under ``B x N`` image weights (ties count half).

    A positive image scores one win per negative below it and half a win per negative of
    equal score, each weighted by how often a resample drew the two images, so that one sort
    of the images serves every resample.

    Args:
        positive (np.ndarray): ``N`` whether each image is of the class.
        scores (np.ndarray): ``N`` its score for the class.
        weights (np.ndarray): ``B x N`` times each image is drawn (ones: the data as it is).

    Returns:
        np.ndarray: ``B`` AUC values; NaN where a row has no positive or no negative.
    """
    negatives = np.flatnonzero(~positive)
    negatives = negatives[np.argsort(scores[negatives], kind='stable')]
    positives = np.flatnonzero(positive)
    below = np.searchsorted(scores[negatives], scores[positives], side='left')
    up_to = np.searchsorted(scores[negatives], scores[positives], side='right')
    cumulative = np.zeros((weights.shape[0], negatives.size + 1))
    np.cumsum(weights[:, negatives], axis=1, out=cumulative[:, 1:])
    wins = (weights[:, positives] * 0.5 * (cumulative[:, below] + cumulative[:, up_to])).sum(1)
    pairs = weights[:, positives].sum(axis=1) * cumulative[:, -1]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(pairs > 0, wins / np.maximum(pairs, 1), np.nan)


def auc_interval(
    scores: np.ndarray,
    labels: np.ndarray,
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = SEED,
) -> Optional[Interval]:
    """The AUC (binary: class 1; else macro one-vs-rest) with its bootstrap interval.

    The bootstrap is stratified (images resampled within each true class, as pROC does), so
    that every resample has the positives and negatives the AUC needs.

    Args:
        scores (np.ndarray): ``N x C`` class scores.
        labels (np.ndarray): ``N`` true labels.
        confidence (float): Coverage. Defaults to 0.95.
        num_resamples (int): Resamples. Defaults to :data:`NUM_RESAMPLES`.
        seed (int): Seed. Defaults to :data:`SEED`.

    Returns:
        Interval | None: AUC as a fraction; None where it is undefined (one class present).
    """
    num_items, num_classes = scores.shape
    classes = [1] if num_classes == 2 else range(num_classes)
    defined = [c for c in classes if 0 < (labels == c).sum() < num_items]
    if not defined:
        return None

    def macro_auc(index: np.ndarray) -> np.ndarray:
        offsets = np.arange(index.shape[0])[:, None] * num_items
        weights = np.bincount((index + offsets).ravel(), minlength=index.size).reshape(index.shape)
        return np.mean([weighted_auc(labels == c, scores[:, c], weights) for c in defined], 0)

    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    low, high = bootstrap_bounds(macro_auc, groups, confidence, num_resamples, seed)
    estimate = float(macro_auc(np.arange(num_items)[None])[0])
    return Interval(estimate, float(low), float(high), 'bootstrap')


def classification_intervals(
    scores: np.ndarray,
    labels: np.ndarray,
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = SEED,
    min_support: int = MIN_CLASS_SUPPORT,
) -> dict:
    """Intervals of every test figure of a single-label classifier.

    Args:
        scores (np.ndarray): ``N x C`` class scores.
        labels (np.ndarray): ``N`` true labels.
        confidence (float): Coverage. Defaults to 0.95.
        num_resamples (int): Bootstrap resamples. Defaults to :data:`NUM_RESAMPLES`.
        seed (int): Bootstrap seed. Defaults to :data:`SEED`.
        min_support (int): Classes with fewer test images are listed in ``small_classes``.

    Returns:
        dict: ``top1``, ``macro_f1`` and ``auc`` (an :class:`Interval` as dict, ``auc`` None
        when undefined); ``precision``, ``recall`` and ``f1`` (one interval dict per class);
        ``support`` (images per class); ``small_classes`` (indices of classes with fewer than
        ``min_support`` images); ``confidence``, ``num_resamples``, ``auc_resamples`` (fewer
        on large test sets, see :data:`AUC_BOOTSTRAP_BUDGET`) and ``seed``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    num_items, num_classes = scores.shape
    preds = scores.argmax(axis=1)
    cells = labels * num_classes + preds

    def confusions(index: np.ndarray) -> np.ndarray:
        """``B x C x C`` confusion counts of a ``B x N`` index matrix."""
        offsets = np.arange(index.shape[0])[:, None] * num_classes**2
        counts = np.bincount(
            (cells[index] + offsets).ravel(), minlength=index.shape[0] * num_classes**2
        )
        return counts.reshape(-1, num_classes, num_classes)

    def all_f1(index: np.ndarray) -> np.ndarray:
        f1 = f1_from_confusion(confusions(index))
        return np.concatenate([f1, f1.mean(axis=1, keepdims=True)], axis=1).T

    confusion = confusions(np.arange(num_items)[None])[0]
    tp, support, predicted = np.diag(confusion), confusion.sum(1), confusion.sum(0)
    f1 = all_f1(np.arange(num_items)[None])[:, 0]
    bounds = bootstrap_bounds(all_f1, [np.arange(num_items)], confidence, num_resamples, seed)
    f1_intervals = [
        Interval(float(value), float(low), float(high), 'bootstrap')
        for value, low, high in zip(f1, *bounds)
    ]

    def proportion(hits: int, total: int) -> dict:
        low, high = wilson_interval(int(hits), int(total), confidence)
        return Interval(100 * hits / max(total, 1), low, high, 'wilson').to_dict()

    auc_resamples = min(
        num_resamples, max(MIN_AUC_RESAMPLES, AUC_BOOTSTRAP_BUDGET // (num_items * num_classes))
    )
    auc = auc_interval(scores, labels, confidence, auc_resamples, seed)
    return {
        'top1': accuracy_interval(preds == labels, confidence).to_dict(),
        'macro_f1': f1_intervals[-1].to_dict(),
        'auc': auc.to_dict() if auc is not None else None,
        'precision': [proportion(t, p) for t, p in zip(tp, predicted)],
        'recall': [proportion(t, s) for t, s in zip(tp, support)],
        'f1': [interval.to_dict() for interval in f1_intervals[:-1]],
        'support': [int(n) for n in support],
        'small_classes': [int(c) for c in np.flatnonzero(support < min_support)],
        'confidence': confidence,
        'num_resamples': num_resamples,
        'auc_resamples': auc_resamples,
        'seed': seed,
    }


@dataclass
class McNemar:
    """McNemar's test of two classifiers on the same images.

    Attributes:
        only_a (int): Images only A gets right.
        only_b (int): Images only B gets right.
        statistic (float | None): The chi-square statistic with continuity correction
            (None for the exact test).
        p_value (float): Two-sided p-value.
        method (str): ``'exact'`` (binomial on the discordant images) or ``'chi2'``.
    """

    only_a: int
    only_b: int
    statistic: Optional[float]
    p_value: float
    method: str


def mcnemar(only_a: int, only_b: int) -> McNemar:
    """McNemar's test from the discordant counts.

    Exact (binomial) when fewer than :data:`EXACT_MCNEMAR_BELOW` images are discordant,
    else chi-square with continuity correction.

    Args:
        only_a (int): Images classifier A gets right and B wrong.
        only_b (int): Images B gets right and A wrong.

    Returns:
        McNemar: Counts, statistic and p-value.
    """
    from scipy.stats import binomtest, chi2

    discordant = only_a + only_b
    if discordant < EXACT_MCNEMAR_BELOW:
        p_value = binomtest(only_a, discordant).pvalue if discordant else 1.0
        return McNemar(only_a, only_b, None, float(p_value), 'exact')
    statistic = (abs(only_a - only_b) - 1) ** 2 / discordant
    return McNemar(only_a, only_b, float(statistic), float(chi2.sf(statistic, 1)), 'chi2')


def paired_bootstrap(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = SEED,
) -> Interval:
    """Interval of the accuracy difference B - A (points), resampling images in pairs.

    Args:
        correct_a (Sequence[bool]): Per image, whether A is right.
        correct_b (Sequence[bool]): The same images, whether B is right.
        confidence (float): Coverage. Defaults to 0.95.
        num_resamples (int): Resamples. Defaults to :data:`NUM_RESAMPLES`.
        seed (int): Seed. Defaults to :data:`SEED`.

    Returns:
        Interval: The difference in points and its bounds.
    """
    a, b = np.asarray(correct_a, dtype=np.float64), np.asarray(correct_b, dtype=np.float64)
    delta = 100 * (b - a)
    low, high = bootstrap_bounds(
        lambda index: delta[index].mean(axis=1),
        [np.arange(delta.size)],
        confidence,
        num_resamples,
        seed,
    )
    return Interval(float(delta.mean()), float(low), float(high), 'bootstrap')


@dataclass
class Comparison:
    """Two classifiers compared on the same test images.

    Attributes:
        num_images (int): Test images.
        accuracy_a (Interval): A's top-1 (%).
        accuracy_b (Interval): B's top-1 (%).
        difference (Interval): B - A in points, paired bootstrap interval.
        mcnemar (McNemar): McNemar's test.
        alpha (float): Significance level.
        could_be_noise (bool): True when McNemar's p-value is at least ``alpha`` or the
            interval of the difference holds 0.
    """

    num_images: int
    accuracy_a: Interval
    accuracy_b: Interval
    difference: Interval
    mcnemar: McNemar
    alpha: float
    could_be_noise: bool

    def verdict(self, name_a: str = 'A', name_b: str = 'B') -> str:
        """One sentence: which is better, or that the difference could be noise."""
        diff = self.difference
        figures = (
            f'{name_b} - {name_a} = {diff.estimate:+.1f} points '
            f'({100 * (1 - self.alpha):g} % interval [{diff.low:+.1f}, {diff.high:+.1f}], '
            f'McNemar p = {self.mcnemar.p_value:.3g}, {self.num_images} images)'
        )
        if self.could_be_noise:
            return f'{figures}: could be noise, no evidence that either is better'
        better = name_b if diff.estimate > 0 else name_a
        return f'{figures}: {better} is better'

    def to_dict(self) -> dict:
        """All fields as plain values (for JSON)."""
        return asdict(self)


def compare_correct(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    alpha: float = 0.05,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """Compare two classifiers from their per-image correctness on the same images.

    Args:
        correct_a (Sequence[bool]): Per image, whether A is right.
        correct_b (Sequence[bool]): The same images in the same order, whether B is right.
        alpha (float): Significance level; the interval has coverage ``1 - alpha``.
            Defaults to 0.05.
        num_resamples (int): Bootstrap resamples. Defaults to :data:`NUM_RESAMPLES`.
        seed (int): Bootstrap seed. Defaults to :data:`SEED`.

    Returns:
        Comparison: Both accuracies, the paired difference, McNemar's test and whether
        the difference could be noise.
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(
            f'paired comparison needs the same test images: {a.size} and {b.size} results'
        )
    test = mcnemar(int((a & ~b).sum()), int((b & ~a).sum()))
    difference = paired_bootstrap(a, b, 1 - alpha, num_resamples, seed)
    holds_zero = difference.low <= 0 <= difference.high
    return Comparison(
        num_images=a.size,
        accuracy_a=accuracy_interval(a, 1 - alpha),
        accuracy_b=accuracy_interval(b, 1 - alpha),
        difference=difference,
        mcnemar=test,
        alpha=alpha,
        could_be_noise=bool(test.p_value >= alpha or holds_zero),
    )


def format_intervals(intervals: dict, classes: Sequence[str]) -> List[str]:
    """Readable lines of :func:`classification_intervals`, for the test summary.

    Args:
        intervals (dict): What :func:`classification_intervals` returned.
        classes (Sequence[str]): Class names by label.

    Returns:
        list[str]: A headline for top-1, macro-F1 and AUC, then one line per class.
    """

    def text(interval: Dict[str, float], digits: int = 1) -> str:
        return Interval(**interval).format(digits)

    percent = round(100 * intervals['confidence'])
    lines = [
        f'Test figures with {percent} % intervals over {sum(intervals["support"])} test images:'
    ]
    lines.append(f'  top-1    {text(intervals["top1"])} %')
    lines.append(f'  macro-F1 {text(intervals["macro_f1"])} %')
    if intervals.get('auc') is not None:
        lines.append(f'  AUC      {text(intervals["auc"], 3)}')
    classes = [safe_text(name) for name in classes]
    width = max([len(name) for name in classes] + [5])
    lines.append(f'  {"class":<{width}}  {"n":>4}  precision           recall              F1')
    small = set(intervals['small_classes'])
    for index, name in enumerate(classes):
        row = (
            f'  {name:<{width}}  {intervals["support"][index]:>4}  '
            f'{text(intervals["precision"][index]):<18}  {text(intervals["recall"][index]):<18}  '
            f'{text(intervals["f1"][index])}'
        )
        if index in small:
            row += '  (few test images: too few to judge)'
        lines.append(row)
    return lines
