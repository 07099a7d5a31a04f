"""mmtl's transfer strategies as changes to the user's own config.

Each strategy reads mmtl's strategy fragment (``configs/_base_/strategies/<name>.py``), as the
``configs/*_<name>_fruit.py`` configs do, but applies it as overrides on top of the user's
config, so that the user's data, model, schedule and optimizer stay: the learning rate is a
multiple of the user's, the frozen stages are the user's backbone's.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from mmtl.utils.strategies import load_strategy


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


@dataclass
class Strategy:
    """One transfer strategy.

    Args:
        name (str): Short name (``'linear-probe'``).
        mirrors (str): Suffix of the mmtl strategy configs (or the fragment) it corresponds to.
        what (str): What trains.
        lr_factors (tuple): Low, recommended and high multiple of the user's lr.
        build (Callable): ``StrategyContext -> overrides`` (a nested dict).
    """

    name: str
    mirrors: str
    what: str
    lr_factors: Tuple[float, float, float]
    build: Callable[[StrategyContext], dict]

    def lr_range(self, ctx: StrategyContext) -> Tuple[float, float, float]:
        """Low, recommended and high learning rate for the user's optimizer."""
        scale = 0.3 if ctx.adaptive and self.lr_factors[1] > 1 else 1.0
        return tuple(ctx.lr * f * scale for f in self.lr_factors)

    def overrides(self, ctx: StrategyContext, lr: Optional[float] = None) -> dict:
        """Config overrides for this strategy (lr: the recommended one unless given)."""
        changes = self.build(ctx)
        optimizer = changes.setdefault('optim_wrapper', {}).setdefault('optimizer', {})
        optimizer['lr'] = float(lr if lr is not None else self.lr_range(ctx)[1])
        changes['train_cfg'] = {'max_epochs': int(ctx.epochs)}
        return changes


def _linear_probe(ctx: StrategyContext) -> dict:
    changes = load_strategy('linear-probe')
    changes['optim_wrapper'] = {'optimizer': {'weight_decay': 0.0}}
    return changes


def _partial_ft(ctx: StrategyContext) -> dict:
    # mmtl's partial-ft fragments are per architecture; the user's backbone gets its own cut,
    # measured by the advisor, so no fragment applies here.
    return {'model': {'type': 'TransferClassifier', 'frozen_modules': ctx.frozen_upto_cut()}}


def _full_ft(ctx: StrategyContext) -> dict:
    return load_strategy('full-ft')


def _full_ft_one_lr(ctx: StrategyContext) -> dict:
    return load_strategy('full-ft-1x')


def _scratch(ctx: StrategyContext) -> dict:
    return load_strategy('scratch')


#: Strategy name -> strategy, in the order of the README's table.
STRATEGIES: Dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            'linear-probe',
            '_linear-probe_fruit.py',
            'the new head only; the whole backbone frozen',
            (3.0, 10.0, 30.0),
            _linear_probe,
        ),
        Strategy(
            'partial-ft',
            '_partial-ft_fruit.py',
            'upper stages + head; stem and lower stages frozen',
            (0.3, 1.0, 3.0),
            _partial_ft,
        ),
        Strategy(
            'full-ft',
            '_full-ft_fruit.py',
            'everything; backbone at 0.1x the head lr',
            (0.3, 1.0, 3.0),
            _full_ft,
        ),
        Strategy(
            'full-ft-1x',
            '_base_/strategies/full_ft_1x.py',
            'everything; backbone at the head lr',
            (0.3, 1.0, 3.0),
            _full_ft_one_lr,
        ),
        Strategy(
            'scratch',
            '_scratch_fruit.py',
            'everything from random weights (no load_from)',
            (1.0, 1.0, 3.0),
            _scratch,
        ),
    )
}
