"""mmtl's strategies (:mod:`mmtl.config.strategies`) as changes to the user's own config.

The user's data, model, schedule and optimizer stay: the learning rate is a multiple of the
user's, and partial fine-tuning freezes the user's backbone up to the stage the advisor measured.
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple

from mmtl.config.strategies import STRATEGIES as TABLE
from mmtl.config.strategies import STRATEGY_DIR, load_strategy


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

    def frozen_upto_cut(self) -> List[str]:
        """Modules from the stem up to and including the cut stage."""
        if self.groups:
            return [name for group in self.groups[: self.cut + 1] for name in group]
        return list(self.stages[: self.cut + 1])


@dataclass(frozen=True)
class Strategy:
    """A strategy of mmtl's table, as the advisor applies it.

    Args:
        name (str): A key of :data:`mmtl.config.strategies.STRATEGIES`.
    """

    name: str

    @property
    def what(self) -> str:
        """What trains."""
        return TABLE[self.name].trains

    @property
    def mirrors(self) -> str:
        """The strategy's fragment, relative to mmtl's config folder."""
        suffix = '_<arch>' if TABLE[self.name].per_arch else ''
        return f'{STRATEGY_DIR}/{self.name.replace("-", "_")}{suffix}.py'

    def lr_range(self, ctx: StrategyContext) -> Tuple[float, float, float]:
        """Low, recommended and high learning rate for the user's optimizer."""
        factors = TABLE[self.name].lr_factors
        scale = 0.3 if ctx.adaptive and factors[1] > 1 else 1.0
        return tuple(ctx.lr * f * scale for f in factors)

    def overrides(self, ctx: StrategyContext, lr: Optional[float] = None) -> dict:
        """Config overrides for this strategy (lr: the recommended one unless given)."""
        if self.name == 'partial-ft':
            # The user's backbone cut at the measured stage, in place of a per-arch fragment.
            frozen = ctx.frozen_upto_cut()
            changes = {'model': {'type': 'TransferClassifier', 'frozen_modules': frozen}}
        else:
            changes = load_strategy(self.name)
        optimizer = changes.setdefault('optim_wrapper', {}).setdefault('optimizer', {})
        optimizer['lr'] = float(lr if lr is not None else self.lr_range(ctx)[1])
        if self.name == 'linear-probe':
            optimizer['weight_decay'] = 0.0
        changes['train_cfg'] = {'max_epochs': int(ctx.epochs)}
        return changes


#: The strategies the advisor recommends and tries, in the order of its docs' table.
STRATEGIES = {
    name: Strategy(name)
    for name in ('linear-probe', 'partial-ft', 'full-ft', 'full-ft-1x', 'scratch')
}
