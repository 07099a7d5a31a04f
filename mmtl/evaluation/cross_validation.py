"""k-fold and repeated stratified splits, their summary, and label issues from out-of-fold scores.

Used by ``tools/cross_validate.py``. Each run of a k-fold tests on one fold, validates (picks
its checkpoint, stops early) on the next fold and trains on the rest, so that no image that
chose the checkpoint is scored by it. Every image is tested once per repeat; its test scores
are its out-of-fold probabilities, from which confident learning (Northcutt et al., 2021)
lists likely label issues.
"""

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np


@dataclass
class Split:
    """One run of a cross-validation: which images train, validate and test.

    Attributes:
        name (str): ``r<repeat>_f<fold>``.
        repeat (int): Repeat index (a new shuffle of the folds).
        fold (int): The fold tested.
        train (list[int]): Image indices.
        val (list[int]): Image indices.
        test (list[int]): Image indices.
    """

    name: str
    repeat: int
    fold: int
    train: List[int]
    val: List[int]
    test: List[int]


def fold_splits(
    labels: Sequence[int], folds: int = 5, repeats: int = 1, seed: int = 0
) -> List[Split]:
    """Stratified k-fold runs, repeated with new shuffles.

    Run ``f`` of a repeat tests on fold ``f``, validates on fold ``f + 1`` (mod k) and trains
    on the other ``k - 2`` folds.

    Args:
        labels (Sequence[int]): The label of each image.
        folds (int): k, at least 3. Defaults to 5.
        repeats (int): Shuffles of the folds. Defaults to 1.
        seed (int): Seed of the first shuffle (repeat r uses ``seed + r``). Defaults to 0.

    Returns:
        list[Split]: ``folds * repeats`` runs.

    Raises:
        ValueError: ``folds < 3``, ``repeats < 1``, or a class has fewer than ``folds``
            images (some fold would miss it).
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if folds < 3:
        raise ValueError(f'folds={folds}: at least 3 (one to test, one to validate, one to train)')
    if repeats < 1:
        raise ValueError(f'repeats={repeats}: at least 1')
    values, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        small = values[counts < folds].tolist()
        raise ValueError(
            f'classes {small} have fewer than {folds} images: use fewer folds (--folds) or '
            'add images'
        )
    splits = []
    for repeat in range(repeats):
        kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        parts = [test.tolist() for _, test in kfold.split(np.zeros(len(labels)), labels)]
        for fold in range(folds):
            val_fold = (fold + 1) % folds
            train = sorted(i for f, p in enumerate(parts) if f not in (fold, val_fold) for i in p)
            splits.append(
                Split(f'r{repeat}_f{fold}', repeat, fold, train, parts[val_fold], parts[fold])
            )
    return splits


def summarize(values: Sequence[float], confidence: float = 0.95) -> Dict[str, float]:
    """Mean, standard deviation and a t interval of the mean of per-run figures.

    The runs of a k-fold share training images, so the interval is somewhat too narrow; it
    is the usual figure (the Wilson interval of the pooled out-of-fold predictions is the other
    view).

    Args:
        values (Sequence[float]): One figure per run.
        confidence (float): Coverage. Defaults to 0.95.

    Returns:
        dict: ``mean``, ``std`` (sample, ``ddof=1``; 0 for one run), ``low``, ``high``, ``runs``.
    """
    from scipy.stats import t

    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError('no finished runs to summarise')
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    # one run: t has no degrees of freedom and the interval is NaN
    half = float(t.ppf(0.5 + confidence / 2, values.size - 1) * std / np.sqrt(values.size))
    return {'mean': mean, 'std': std, 'low': mean - half, 'high': mean + half, 'runs': values.size}


@dataclass
class LabelIssue:
    """A training image whose label the out-of-fold scores doubt.

    Attributes:
        index (int): Image index.
        given (int): Its label.
        suggested (int): The class the scores confidently say, or the best other class.
        self_confidence (float): Out-of-fold probability of the given label.
        suggested_probability (float): Probability of ``suggested``.
        flagged (bool): Confident learning counts it as an off-diagonal entry of the
            confident joint (a likely label error, not just a hard image).
    """

    index: int
    given: int
    suggested: int
    self_confidence: float
    suggested_probability: float
    flagged: bool


def label_issues(probabilities: np.ndarray, labels: Sequence[int]) -> List[LabelIssue]:
    """Rank images by how much their out-of-fold scores doubt the given label.

    Confident learning: class ``j``'s threshold is the mean probability of ``j`` over the
    images labelled ``j``; an image is confidently of class ``j`` when its probability of
    ``j`` reaches that threshold (the most probable such class when several do). An image
    confidently of a class other than its label is flagged. All images are returned, the
    flagged ones first, each group by rising probability of the given label.

    Args:
        probabilities (np.ndarray): ``N x C`` out-of-fold class probabilities.
        labels (Sequence[int]): The given labels.

    Returns:
        list[LabelIssue]: Every image, most doubtful first.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    num_items, num_classes = probabilities.shape
    thresholds = np.array(
        [
            probabilities[labels == c, c].mean() if (labels == c).any() else 1.0
            for c in range(num_classes)
        ]
    )
    confident = probabilities >= thresholds - 1e-12
    masked = np.where(confident, probabilities, -np.inf)
    confident_class = masked.argmax(axis=1)
    has_confident = confident.any(axis=1)
    self_confidence = probabilities[np.arange(num_items), labels]
    others = probabilities.copy()
    others[np.arange(num_items), labels] = -np.inf
    best_other = others.argmax(axis=1)
    issues = []
    for i in range(num_items):
        flagged = bool(has_confident[i] and confident_class[i] != labels[i])
        suggested = int(confident_class[i] if flagged else best_other[i])
        issues.append(
            LabelIssue(
                i,
                int(labels[i]),
                suggested,
                float(self_confidence[i]),
                float(probabilities[i, suggested]),
                flagged,
            )
        )
    return sorted(issues, key=lambda issue: (not issue.flagged, issue.self_confidence))
