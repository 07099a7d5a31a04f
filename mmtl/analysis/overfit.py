"""The "one small batch" sanity check: a working setup drives the loss on one batch to ~0;
when it does not, the labels, the lr, frozen parameters or the pipeline are broken."""

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch


def balanced_indices(labels: Sequence[int], size: int, seed: int = 0) -> List[int]:
    """Up to ``size`` sample indices taking the classes in turn (random within a class), as a
    batch of one class would be "learnt" at once.

    Args:
        labels (Sequence[int]): Label of every sample.
        size (int): Indices wanted.
        seed (int): Seed of the choice within each class. Defaults to 0.

    Returns:
        list[int]: Distinct indices, classes interleaved.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    pools = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    picked: List[int] = []
    while len(picked) < size and any(pools):
        for pool in pools:
            if pool and len(picked) < size:
                picked.append(int(pool.pop()))
    return picked


@dataclass
class OverfitResult:
    """What happened on the batch.

    Attributes:
        losses (list[float]): Loss before each step.
        success (bool): The loss reached the target.
        diagnosis (str): Why not, with hints; empty on success.
    """

    losses: List[float] = field(default_factory=list)
    success: bool = False
    diagnosis: str = ''


def diagnose(
    losses: Sequence[float], lrs: Sequence[float], grad_norm: Optional[float], target: float
) -> str:
    """A hint at what broke, from the loss curve, the lr and the gradients.

    Args:
        losses (Sequence[float]): Loss before each step.
        lrs (Sequence[float]): lr of each parameter group.
        grad_norm (float | None): Gradient norm of the last step (None: no gradients).
        target (float): The loss that counts as "near zero".

    Returns:
        str: One paragraph, starting with "loss did not fall" or "loss is not finite".
    """
    hints = []
    if not all(math.isfinite(x) for x in losses):
        head = 'loss is not finite'
        hints.append('the lr may be too high, or the inputs hold NaN/inf')
    else:
        head = f'loss did not fall below {target:g} ({losses[0]:.4f} -> {losses[-1]:.4f})'
    if lrs and max(lrs) == 0:
        hints.append('the lr is 0')
    if grad_norm is None:
        hints.append('no parameter received a gradient (all frozen?)')
    elif grad_norm == 0:
        hints.append('the gradients are all zero (loss disconnected from the parameters?)')
    hints.append('check labels, lr, pipeline')
    return f'{head}: ' + '; '.join(hints)


def overfit_batch(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    data_samples: list,
    optimizer: torch.optim.Optimizer,
    steps: int = 100,
    target: float = 0.05,
    relabel: Optional[Callable[[list, int], list]] = None,
    on_step: Optional[Callable[[int, float], None]] = None,
) -> OverfitResult:
    """Train on one fixed batch until the loss is below ``target`` or ``steps`` run out.

    Args:
        model (torch.nn.Module): An mmpretrain classifier (``model(x, samples, 'loss')``).
        inputs (torch.Tensor): The preprocessed batch.
        data_samples (list): Its data samples (labels).
        optimizer (Optimizer): Over the trainable parameters; its lr is used as is.
        steps (int): Most optimisation steps. Defaults to 100.
        target (float): Loss that counts as near zero. Defaults to 0.05.
        relabel (callable, optional): ``(data_samples, step) -> data_samples`` applied before
            each step; for control runs that break the labels. Defaults to None.
        on_step (callable, optional): Called with ``(step, loss)`` before each update.

    Returns:
        OverfitResult: The loss curve and the verdict.
    """
    result = OverfitResult()
    model.train()
    grad_norm: Optional[float] = None
    for step in range(steps):
        samples = relabel(data_samples, step) if relabel else data_samples
        losses = model(inputs, samples, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        value = float(loss.detach())
        result.losses.append(value)
        if on_step:
            on_step(step, value)
        if not math.isfinite(value):
            break
        if value < target:
            result.success = True
            return result
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        grad_norm = float(torch.norm(torch.stack([g.norm() for g in grads]))) if grads else None
        optimizer.step()
    lrs = [group['lr'] for group in optimizer.param_groups]
    result.diagnosis = diagnose(result.losses, lrs, grad_norm, target)
    return result
