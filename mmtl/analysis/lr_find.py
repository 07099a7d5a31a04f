"""Learning-rate range test (as fastai's ``lr_find``): an exponential lr sweep over the
config's own model, data and optimizer (every parameter group keeps its ratio to the largest
lr), stopped when the smoothed loss diverges; the suggestion is the lr of the smoothed minimum
divided by 10."""

import math
from dataclasses import dataclass, field
from typing import List, Optional

from mmengine.optim import OptimWrapper


@dataclass
class LrFindResult:
    """The sweep.

    Attributes:
        lrs (list[float]): The largest group's lr at each iteration.
        losses (list[float]): The smoothed (bias-corrected exponential average) loss.
        suggested_lr (float): The lr at the smoothed minimum / 10 (the first tenth of the
            sweep left out).
        diverged_at (float | None): The lr at which the sweep stopped on divergence.
    """

    lrs: List[float] = field(default_factory=list)
    losses: List[float] = field(default_factory=list)
    suggested_lr: float = float('nan')
    diverged_at: Optional[float] = None


def lr_range_test(
    model,
    dataloader,
    optim_wrapper: OptimWrapper,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    num_iters: int = 60,
    diverge: float = 4.0,
    smoothing: float = 0.8,
) -> LrFindResult:
    """Train ``num_iters`` iterations with an exponentially growing lr; record the loss.

    Args:
        model: An mmengine model (``train_step(data, optim_wrapper)``), e.g. a Runner's.
        dataloader: The training dataloader (cycled when shorter than the sweep).
        optim_wrapper (OptimWrapper): Built for ``model`` from the config: its groups' lr
            ratios (``lr_mult``, layer decay) are kept.
        start_lr (float): The largest group's first lr. Defaults to 1e-6.
        end_lr (float): Its last lr. Defaults to 1.0.
        num_iters (int): Iterations of the sweep. Defaults to 60.
        diverge (float): Stop when the smoothed loss exceeds this many times its minimum.
            Defaults to 4.
        smoothing (float): Exponential smoothing of the loss. Defaults to 0.8.

    Returns:
        LrFindResult: The curve and the suggested lr (for the largest group, at this batch).
    """
    if not 0 < start_lr < end_lr or num_iters < 2:
        raise ValueError(
            f'lr sweep: need 0 < start_lr < end_lr and num_iters >= 2, got '
            f'{start_lr}, {end_lr}, {num_iters}'
        )
    groups = optim_wrapper.optimizer.param_groups
    top = max(group['lr'] for group in groups) or 1.0
    ratios = [group['lr'] / top for group in groups]
    result = LrFindResult()
    average, best = 0.0, math.inf
    model.train()
    batches = iter(dataloader)
    for step in range(num_iters):
        lr = start_lr * (end_lr / start_lr) ** (step / (num_iters - 1))
        for group, ratio in zip(groups, ratios):
            group['lr'] = lr * ratio
        try:
            data = next(batches)
        except StopIteration:
            batches = iter(dataloader)
            data = next(batches)
        log_vars = model.train_step(data, optim_wrapper)
        loss = log_vars['loss']
        loss = float(loss.detach() if hasattr(loss, 'detach') else loss)
        average = smoothing * average + (1 - smoothing) * loss
        smoothed = average / (1 - smoothing ** (step + 1))
        result.lrs.append(lr)
        result.losses.append(smoothed)
        if not math.isfinite(smoothed) or smoothed > diverge * best:
            result.diverged_at = lr
            break
        best = min(best, smoothed)
    # The first tenth is left out: its few, barely smoothed losses are mostly noise.
    points = list(zip(result.losses, result.lrs))[max(1, len(result.lrs) // 10) :]
    finite = [(loss, lr) for loss, lr in points if math.isfinite(loss)]
    result.suggested_lr = min(finite)[1] / 10 if finite else float('nan')
    return result


def plot_lr_find(result: LrFindResult, out_file: str) -> str:
    """Save a PNG of the smoothed loss against the lr, the suggestion marked."""
    from mmtl.visualization.figure import new_figure, save_figure

    figure = new_figure((6, 4))
    ax = figure.add_subplot()
    ax.plot(result.lrs, result.losses)
    ax.axvline(result.suggested_lr, color='tab:red', linestyle='--', label='suggested')
    ax.set_xscale('log')
    ax.set_xlabel('learning rate (largest parameter group)')
    ax.set_ylabel('training loss (smoothed)')
    ax.legend()
    figure.tight_layout()
    save_figure(figure, out_file)
    return out_file
