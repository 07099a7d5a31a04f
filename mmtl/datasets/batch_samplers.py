"""A batch sampler that keeps small datasets from being trained on a tiny last batch."""

import logging
import math

from mmengine.logging import print_log
from torch.utils.data import BatchSampler, Sampler

from mmtl.registry import DATA_SAMPLERS


def small_data_batching(samples: int, batch_size: int, min_last_ratio: float = 0.5) -> tuple:
    """The batch size and ``drop_last`` that suit ``samples`` images per process.

    Args:
        samples (int): Images a process sees per epoch.
        batch_size (int): The configured batch size.
        min_last_ratio (float): A last, incomplete batch smaller than this fraction of the
            batch is dropped; a larger one is kept. Defaults to 0.5.

    Returns:
        tuple: ``(batch_size, drop_last)``: the batch clamped to ``samples`` (at least 1),
        and whether the last batch of an epoch is dropped.
    """
    batch = max(1, min(batch_size, samples))
    last = samples % batch
    return batch, bool(last) and last < min_last_ratio * batch


def images_left_out(num_images: int, world_size: int, batch: int, drop_last: bool) -> int:
    """Training images no process sees in an epoch, with mmengine's ``DefaultSampler``.

    Each of ``world_size`` processes takes every ``world_size``-th of the shuffled images,
    padded to ``ceil(num_images / world_size)`` each; dropping the last batch of each process
    leaves out the images at the end of the shuffled list.

    Args:
        num_images (int): Images in the training set.
        world_size (int): Training processes.
        batch (int): The batch size each process uses.
        drop_last (bool): Whether each process drops its last, incomplete batch.

    Returns:
        int: Images left out each epoch (different ones each epoch when shuffled).
    """
    per_process = math.ceil(num_images / world_size)
    used = (per_process // batch) * batch if drop_last else per_process
    return max(0, num_images - used * world_size)


@DATA_SAMPLERS.register_module()
class SmallDataBatchSampler(BatchSampler):
    """torch's :class:`~torch.utils.data.BatchSampler`, made safe for small datasets.

    A batch larger than the images of a process is clamped to them, and a last batch
    smaller than ``min_last_ratio`` of the batch is dropped (BatchNorm would normalise with
    a handful of images' statistics). Each decision is logged in one line.

    Args:
        sampler (Sampler): Yields the sample indices (mmengine's ``DefaultSampler``).
        batch_size (int): The configured batch size (``train_dataloader.batch_size``).
        min_last_ratio (float): Defaults to 0.5; 0 keeps every last batch, 1 drops every
            incomplete one.
        drop_last (bool, optional): True or False forces torch's behaviour (no rule).
    """

    def __init__(
        self,
        sampler: Sampler,
        batch_size: int,
        min_last_ratio: float = 0.5,
        drop_last=None,
    ) -> None:
        if not 0 <= min_last_ratio <= 1:
            raise ValueError(
                f'batch_sampler.min_last_ratio={min_last_ratio!r}: must be between 0 and 1'
            )
        samples = len(sampler)
        batch, drop = small_data_batching(samples, batch_size, min_last_ratio)
        if drop_last is not None:
            drop = bool(drop_last)
        if batch != batch_size:
            print_log(
                f'Small dataset: train_dataloader.batch_size={batch_size} is more than the '
                f'{samples} images per process; using batches of {batch}.',
                logger='current',
            )
        last = samples % batch
        if drop and last:
            print_log(
                f'Small dataset: the last batch of each epoch ({last} of {samples} images, '
                f'< {min_last_ratio:g} x the batch of {batch}) is dropped so that BatchNorm '
                f'never normalises with a handful of images '
                f'(train_dataloader.batch_sampler.min_last_ratio).',
                logger='current',
            )
        world_size = getattr(sampler, 'world_size', 1)
        num_images = len(getattr(sampler, 'dataset', sampler))
        left_out = images_left_out(num_images, world_size, batch, drop)
        if world_size > 1 and left_out and getattr(sampler, 'rank', 0) == 0:
            keep = 'drop_last=False' if drop_last is not None else 'batch_sampler.min_last_ratio=0'
            print_log(
                f'Small dataset: {world_size} processes with batches of {batch} leave out '
                f'{left_out} of the {num_images} training images each epoch (each process '
                f'drops its last batch of {samples % batch}): train in one process, or give a '
                f'train_dataloader.batch_size that divides the {samples} images per process, '
                f'or keep the last batches (train_dataloader.{keep}).',
                logger='current',
                level=logging.WARNING,
            )
        super().__init__(sampler, batch, drop)
