"""A sampler that draws every class equally often, in one process or many (DDP)."""

import math
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmtl.registry import DATA_SAMPLERS

from .class_counts import class_counts, dataset_labels


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw samples with probability inversely proportional to their class's frequency.

    Each epoch draws ``num_samples`` indices with replacement, so every class is drawn
    ``1 / C`` of the time. Like mmengine's ``DefaultSampler`` it is distributed-aware: all
    ranks draw the same sequence from ``seed + epoch`` and rank ``r`` of ``W`` takes every
    ``W``-th index from ``r``.

    Args:
        dataset (Sized): A classification dataset (``get_gt_labels`` or ``get_cat_ids``).
        shuffle (bool): Accepted so that the base config's ``shuffle=True`` can stay; the
            draw is always random and ``False`` is an error. Defaults to True.
        seed (int, optional): Seed of the draws, the same on all ranks. Defaults to a
            synchronised random seed.
        num_samples (int, optional): Samples per epoch over all ranks. Defaults to the
            dataset length.
    """

    def __init__(
        self,
        dataset: Sized,
        shuffle: bool = True,
        seed: Optional[int] = None,
        num_samples: Optional[int] = None,
    ) -> None:
        if not shuffle:
            raise ValueError(
                'ClassBalancedSampler draws at random: shuffle=False is not possible '
                '(use DefaultSampler for a fixed order)'
            )
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        labels = dataset_labels(dataset)
        if labels.size == 0:
            raise ValueError('ClassBalancedSampler: the dataset is empty')
        counts = class_counts(labels, int(labels.max()) + 1)
        weights = 1.0 / counts[labels]
        self.weights = torch.as_tensor(weights / weights.sum(), dtype=torch.float64)
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.total_size = int(num_samples) if num_samples is not None else len(labels)
        if self.total_size <= 0:
            raise ValueError(f'ClassBalancedSampler: num_samples={num_samples} must be > 0')
        self.num_samples = math.ceil(self.total_size / self.world_size)

    def __iter__(self) -> Iterator[int]:
        """This rank's indices of the epoch's draw."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        total = self.num_samples * self.world_size  # padded so that every rank gets as many
        indices = torch.multinomial(self.weights, total, replacement=True, generator=generator)
        return iter(indices[self.rank : total : self.world_size].tolist())

    def __len__(self) -> int:
        """Samples this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw a new sequence for ``epoch`` (the same on every rank)."""
        self.epoch = epoch
