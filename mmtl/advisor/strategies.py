"""mmtl's strategies (:mod:`mmtl.config.strategies`) as changes to the user's own config.

The user's data, model, schedule and optimizer stay: the learning rate is a multiple of the
user's, and partial fine-tuning freezes the user's backbone up to the stage the advisor measured.
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple

from mmtl.config.strategies import STRATEGIES, load_strategy

#: The strategies the advisor recommends and tries, in the order ``--trials`` tries them after
#: the recommended one.
ADVISED = ('full-ft-1x', 'full-ft', 'scratch', 'partial-ft', 'linear-probe')


@dataclass
class StrategyContext:
    """What a strategy needs to know about the user's config and the measurements.

    Args:
        lr (float): The user's ``optim_wrapper.optimizer.lr``.
        adaptive (bool): Whether the optimizer is Adam-like (smaller lr factors).
        stages (list[str]): The backbone's stages, input to output.
        cut (int): Index of the last stage kept frozen by partial fine-tuning.
        epochs (int): Epochs to train.
        groups (list[list[str]], optional): Backbone children per stage (norms and pools
            with their stage); partial fine-tuning freezes whole groups.
    """

    lr: float
    adaptive: bool
    stages: List[str]
    cut: int
    epochs: int
    groups: Optional[List[List[str]]] = None


def lr_range(name: str, ctx: StrategyContext) -> Tuple[float, float, float]:
    """Low, recommended and high learning rate of strategy ``name`` for the user's optimizer.

    Args:
        name (str): A key of :data:`mmtl.config.strategies.STRATEGIES`.
        ctx (StrategyContext): The user's lr and optimizer kind.

    Returns:
        tuple: ``(low, recommended, high)``.
    """
    factors = STRATEGIES[name].lr_factors
    scale = 0.3 if ctx.adaptive and factors[1] > 1 else 1.0
    return tuple(ctx.lr * f * scale for f in factors)


def overrides(name: str, ctx: StrategyContext, lr: Optional[float] = None) -> dict:
    """Config overrides that apply strategy ``name`` to the user's config.

    Args:
        name (str): A key of :data:`mmtl.config.strategies.STRATEGIES`.
        ctx (StrategyContext): The user's lr, stages, cut and epochs.
        lr (float, optional): The lr; the recommended one of :func:`lr_range` unless given.

    Returns:
        dict: Nested config changes.
    """
    if name == 'partial-ft':
        # The user's backbone cut at the measured stage, in place of a per-arch fragment.
        stages = ctx.groups or [[stage] for stage in ctx.stages]
        frozen = [module for group in stages[: ctx.cut + 1] for module in group]
        changes = {'model': {'type': 'TransferClassifier', 'frozen_modules': frozen}}
    else:
        changes = load_strategy(name)
    optimizer = changes.setdefault('optim_wrapper', {}).setdefault('optimizer', {})
    optimizer['lr'] = float(lr if lr is not None else lr_range(name, ctx)[1])
    if name == 'linear-probe':
        optimizer['weight_decay'] = 0.0
    changes['train_cfg'] = {'max_epochs': int(ctx.epochs)}
    return changes
