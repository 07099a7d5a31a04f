"""Place the data in the size x similarity matrix and pick a strategy, with the reasons.

Figures are val top-1 of the ridge probe (:mod:`mmtl.advisor.probe`).
"""

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from mmtl.evaluation.statistics import Comparison, compare_correct

from .data import DataProfile

#: Median training images per class: at most SMALL is small, at least LARGE large.
SMALL = 100
LARGE = 1000
#: ``(acc - chance) / (100 - chance)`` of the last stage's pretrained features: similar above.
SIMILAR = 0.8
#: Without per-image results: the points pretraining must gain (best stage vs best stage or
#: last vs last, the larger) not to recommend scratch.
MIN_GAIN = 3.0
#: Points by which an earlier stage must beat the last one to cut partial fine-tuning there.
EARLY_MARGIN = 5.0
#: Optimisation steps a short dataset gets at least (the few-shot experiment's 200).
MIN_STEPS = 200


@dataclass
class Measurements:
    """Probe accuracy (val top-1, %) per backbone stage, pretrained and random."""

    stages: List[str]
    pretrained: List[float]
    random: List[float]
    num_classes: int
    groups: List[List[str]] = field(default_factory=list)  # backbone children per stage
    #: Per stage, per scored image: whether the probe is right (for paired tests).
    pretrained_correct: Optional[List[np.ndarray]] = None
    random_correct: Optional[List[np.ndarray]] = None
    val_overlap: int = 0  # val images that are training images (same file or pixels)
    scored_images: int = 0  # images the probe accuracies are measured on
    cross_validated: bool = False  # scored by k-fold on the training images (val = train)

    @property
    def chance(self) -> float:
        """Top-1 (%) of guessing."""
        return 100.0 / self.num_classes

    def similarity(self, accuracy: float) -> float:
        """``(acc - chance) / (100 - chance)``: 0 at chance, 1 when perfect."""
        return (accuracy - self.chance) / (100.0 - self.chance)

    def gain_comparison(self, pretrained_stage: int, random_stage: int) -> Optional[Comparison]:
        """Paired test of the pretrained probe at one stage against the random one at another.

        Returns:
            Comparison | None: None when the per-image results were not kept.
        """
        if self.pretrained_correct is None or self.random_correct is None:
            return None
        return compare_correct(
            self.random_correct[random_stage], self.pretrained_correct[pretrained_stage]
        )


@dataclass
class Recommendation:
    """The advisor's pick and the figures that led there."""

    strategy: str
    size: str
    similarity: str
    cut: int
    epochs: int
    reasons: List[str] = field(default_factory=list)


def recommend_epochs(profile: DataProfile, batch_size: int, user_epochs: int) -> int:
    """The user's epochs, raised so that a small dataset still gets ``MIN_STEPS`` steps."""
    per_epoch = max(1, math.ceil(profile.train_images / batch_size))
    return int(min(300, max(user_epochs, math.ceil(MIN_STEPS / per_epoch))))


def recommend(profile: DataProfile, meas: Measurements, epochs: int) -> Recommendation:
    """Apply the rules of this module.

    Args:
        profile (DataProfile): The measured data.
        meas (Measurements): Probe accuracies per stage.
        epochs (int): Epochs to train (see :func:`recommend_epochs`).

    Returns:
        Recommendation: Strategy, matrix cell, cut stage and the reasons in words.
    """
    median = profile.median_per_class
    size = 'small' if median <= SMALL else 'large' if median >= LARGE else 'medium'
    last = len(meas.stages) - 1
    pre_last = meas.pretrained[last]
    s_last = meas.similarity(pre_last)
    best = max(range(len(meas.stages)), key=lambda i: (meas.pretrained[i], i))  # deepest on ties
    gain_best = max(meas.pretrained) - max(meas.random)
    gain_last = pre_last - meas.random[last]
    gain = max(gain_best, gain_last)
    similar = s_last >= SIMILAR
    cut = min(best, len(meas.stages) // 2 - 1)
    reasons = [
        f'data: {profile.train_images} training images in {len(profile.classes)} classes, '
        f'median {profile.median_per_class:g} per class -> {size} (small <= {SMALL}, '
        f'large >= {LARGE})',
        f'pretrained features at the last stage ({meas.stages[last]}): probe top-1 '
        f'{pre_last:.1f} % (chance {meas.chance:.1f} %), similarity {s_last:.2f} -> '
        f'{"similar" if similar else "not similar"} (similar >= {SIMILAR})',
        f'best pretrained stage {meas.stages[best]} {meas.pretrained[best]:.1f} % vs best random '
        f'stage {max(meas.random):.1f} % ({gain_best:+.1f}), last stage vs random last stage '
        f'{meas.random[last]:.1f} % ({gain_last:+.1f}): pretraining gains {gain:+.1f} points',
    ]
    if meas.cross_validated:
        reasons.append(
            f'{meas.val_overlap} of the val images are training images (same file or pixels): '
            f'the probe is scored by cross-validation on the {meas.scored_images} training '
            'images instead'
        )
    if max(meas.random) >= 99.9:
        reasons.append(
            'random features score 100 %: with this few images the probe memorises any '
            'features, so similarity and gain say little here'
        )
    pair = (best, int(np.argmax(meas.random))) if gain_best >= gain_last else (last, last)
    comparison = meas.gain_comparison(*pair)
    if comparison is not None:
        diff = comparison.difference
        reasons.append(
            f'gain {diff.estimate:+.1f} points, 95 % interval [{diff.low:+.1f}, {diff.high:+.1f}] '
            f'(paired bootstrap over {comparison.num_images} images, McNemar p = '
            f'{comparison.mcnemar.p_value:.2g})'
        )
    if profile.imbalance_flagged:
        reasons.append(
            f'classes are imbalanced ({profile.imbalance_ratio:.1f}x): also set '
            'model.head.loss.class_weight=auto or train_dataloader.sampler.type='
            'ClassBalancedSampler'
        )
    if comparison is not None and comparison.could_be_noise:
        strategy = 'full-ft-1x'
        reasons.append(
            'the gain could be noise: no rule can rest on it. full-ft-1x trains every layer at '
            'the full lr like scratch, starting from the pretrained weights, so it does not '
            'depend on the gain being real -> full-ft-1x'
        )
    elif comparison is not None and comparison.difference.high < 0:
        strategy = 'scratch'
        reasons.append('pretrained features are worse than random ones here -> scratch')
    elif comparison is None and gain < MIN_GAIN:
        strategy = 'scratch'
        reasons.append(f'gain < {MIN_GAIN:g} points: the pretrained weights do not help here')
    elif similar:
        strategy = {'small': 'linear-probe', 'medium': 'partial-ft', 'large': 'full-ft'}[size]
        reasons.append(f'{size} data, similar features -> {strategy}')
    elif best < last and meas.pretrained[best] - pre_last >= EARLY_MARGIN and size == 'medium':
        strategy, cut = 'partial-ft', best
        reasons.append(
            f'{meas.stages[best]} beats the last stage by {meas.pretrained[best] - pre_last:.1f} '
            f'points: keep the stages up to it frozen, retrain the ones above -> partial-ft'
        )
    elif size == 'small':
        strategy = 'full-ft-1x'
        reasons.append(
            'pretraining helps but the features do not separate the classes yet, and there is '
            'little data: fine-tune everything at the full lr -> full-ft-1x'
        )
    else:
        strategy = 'full-ft'
        reasons.append(
            'pretraining helps but the features do not separate the classes yet: fine-tune '
            'everything, the backbone at a lower lr -> full-ft'
        )
    return Recommendation(
        strategy, size, 'similar' if similar else 'not similar', cut, epochs, reasons
    )
