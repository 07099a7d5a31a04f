"""A linear warm-up long enough to be one, however short the epochs are."""

from mmengine.hooks import Hook
from mmengine.optim import BaseOptimWrapper
from mmengine.optim.scheduler import LinearParamScheduler

from mmtl.registry import HOOKS

from .effective_lr_hook import scheduler_list


def stretch_warmups(schedulers, max_iters: int, min_iters: int = 10, max_fraction: float = 0.25):
    """Lengthen each too-short linear lr warm-up of ``schedulers`` (see :class:`WarmupFloorHook`).

    Args:
        schedulers (list): Built parameter schedulers, before any training step.
        max_iters (int): Iterations of the whole run.
        min_iters (int): The shortest warm-up. Defaults to 10.
        max_fraction (float): The longest share of the run it may take. Defaults to 0.25.

    Returns:
        list[tuple]: ``(scheduler, old_end, new_end)`` for each one lengthened.
    """
    # At least 2: a LinearLR of one iteration never steps to its end factor, and the chained
    # schedulers after it then scale the 1 % it left for the rest of the run.
    target = max(2, min(min_iters, int(max_fraction * max_iters)))
    changed = []
    for scheduler in schedulers:
        if not isinstance(scheduler, LinearParamScheduler) or scheduler.param_name != 'lr':
            continue
        if scheduler.by_epoch or scheduler.begin != 0 or scheduler.end >= target:
            continue
        changed.append((scheduler, scheduler.end, target))
        scheduler.end = target
        scheduler.total_iters = target - scheduler.begin - 1
    return changed


@HOOKS.register_module()
class WarmupFloorHook(Hook):
    """Stretch a ``LinearLR`` lr warm-up that starts at iteration 0 and is shorter than
    ``min_iters`` (one epoch of a small dataset) to ``max(2, min(min_iters, max_fraction x
    run length))``.

    Args:
        min_iters (int): The shortest warm-up, in iterations. Defaults to 10.
        max_fraction (float): The longest share of the run a lengthened warm-up may take.
            Defaults to 0.25.
    """

    priority = 'NORMAL'  # before EffectiveLrHook (VERY_LOW) records the schedule

    def __init__(self, min_iters: int = 10, max_fraction: float = 0.25) -> None:
        self.min_iters = min_iters
        self.max_fraction = max_fraction

    def before_run(self, runner) -> None:
        if not isinstance(runner.optim_wrapper, BaseOptimWrapper):
            return  # runner.test() / val(): nothing was built for training
        epoch_length = len(runner.train_dataloader)
        changed = stretch_warmups(
            scheduler_list(runner), runner.max_iters, self.min_iters, self.max_fraction
        )
        for scheduler, old, target in changed:
            runner.logger.info(
                f'Warm-up: {target} iterations instead of {old} ({old / epoch_length:g} epoch(s) '
                f'of {epoch_length} iterations): LinearLR from {scheduler.start_factor:g} x '
                f'to {scheduler.end_factor:g} x the lr (WarmupFloorHook min_iters='
                f'{self.min_iters}).'
            )
