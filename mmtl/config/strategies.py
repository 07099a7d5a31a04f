"""mmtl's transfer strategies: one table over the fragments in ``configs/_base_/strategies/``.

Each fragment is a config delta: the top-level keys a strategy sets (``model``,
``optim_wrapper``, ``load_from``, ``custom_hooks``), to merge into a complete config. The
learning rate and weight decay stay with each recipe: they belong to its optimizer and batch.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from mmengine.config import Config

from mmtl.utils.errors import ConfigError

from .load import packaged_config_path

#: Folder of the strategy fragments, relative to mmtl's config folder.
STRATEGY_DIR = '_base_/strategies'


@dataclass(frozen=True)
class Strategy:
    """One transfer strategy; its fragment is its name with underscores (``linear_probe.py``).

    Args:
        trains (str): What trains.
        lr_factors (tuple): Low, recommended and high multiple of a fine-tuning recipe's lr.
        per_arch (bool): Whether the fragment names backbone modules, hence is one per
            architecture (``partial_ft_mobilenet_v2.py``).
    """

    trains: str
    lr_factors: Tuple[float, float, float] = (0.3, 1.0, 3.0)
    per_arch: bool = False


STRATEGIES: Dict[str, Strategy] = {
    'linear-probe': Strategy('the new head only; the whole backbone frozen', (3.0, 10.0, 30.0)),
    'partial-ft': Strategy('upper stages + head; stem and lower stages frozen', per_arch=True),
    'full-ft': Strategy('everything; backbone at 0.1x the head lr'),
    'full-ft-1x': Strategy('everything; backbone at the head lr'),
    'llrd': Strategy('everything; lr x0.7 per backbone block, top to stem'),
    'scratch': Strategy('everything from random weights (no load_from)', (1.0, 1.0, 3.0)),
    'lp-ft': Strategy('the head first, then everything; backbone at 0.1x the head lr'),
    'gradual-unfreeze': Strategy('the head first, then the backbone top-down', per_arch=True),
    'exact-probe': Strategy('the head only, solved by L-BFGS on cached features', (1, 1, 1)),
    'exact-lp-ft': Strategy('everything, from the solved head'),
    'mlp-head': Strategy('everything, with a hidden layer in the head'),
    'stacked-head': Strategy('a new classifier on the frozen pretrained one', (3.0, 10.0, 30.0)),
}


def fragment_name(name: str, arch: Optional[str] = None) -> str:
    """The fragment file of strategy ``name``, relative to mmtl's config folder.

    Args:
        name (str): A key of :data:`STRATEGIES`.
        arch (str, optional): Architecture of per-architecture strategies; ``<arch>`` when
            not given.

    Returns:
        str: ``_base_/strategies/<name>.py``, or ``..._<arch>.py``.

    Raises:
        KeyError: Unknown strategy.
    """
    if name not in STRATEGIES:
        raise KeyError(f'unknown strategy {name!r}; choose from {", ".join(STRATEGIES)}')
    stem = name.replace('-', '_')
    if STRATEGIES[name].per_arch:
        stem = f'{stem}_{(arch or "<arch>").replace("-", "_")}'
    return f'{STRATEGY_DIR}/{stem}.py'


def strategy_fragment_path(name: str, arch: Optional[str] = None) -> str:
    """The fragment file of strategy ``name`` (for backbone ``arch`` where it matters).

    Args:
        name (str): A key of :data:`STRATEGIES`.
        arch (str, optional): Architecture (``'mobilenet_v2'``, ``'resnet50'``); needed by
            per-architecture strategies, ignored by the others.

    Returns:
        str: Path of the fragment.

    Raises:
        KeyError: Unknown strategy, or no fragment for that architecture.
    """
    fragment = fragment_name(name, arch)
    path = packaged_config_path(fragment)
    if path is None:
        raise KeyError(f'strategy {name!r}: no fragment {fragment} among mmtl configs')
    return path


def load_strategy(name: str, arch: Optional[str] = None) -> dict:
    """The config keys strategy ``name`` sets, as a plain nested dict.

    Args:
        name (str): A key of :data:`STRATEGIES`.
        arch (str, optional): Architecture, for per-architecture strategies.

    Returns:
        dict: The fragment's top-level keys and their values.
    """
    return Config.fromfile(strategy_fragment_path(name, arch)).to_dict()


def check_architecture(cfg: Config, name: str, arch: str) -> None:
    """Refuse a per-architecture fragment for a config whose backbone is another architecture.

    Module names such as ``backbone.layer1`` exist in several families, so a fragment of
    another family would freeze the wrong modules without an error.

    Args:
        cfg (Config): A complete config.
        name (str): The strategy.
        arch (str): The architecture whose fragment is asked for (a base model name, or the
            start of one: ``mobilenet_v2`` for ``mobilenet_v2_1x``).

    Raises:
        ConfigError: The config's backbone is not ``arch``'s (type, arch or depth differ).
    """
    from .model_card import base_model_configs

    bases = base_model_configs()
    matches = [m for n, m in sorted(bases.items()) if n == arch or n.startswith(f'{arch}_')]
    if not matches:
        return
    want, have = matches[0]['backbone'], (cfg.get('model') or {}).get('backbone') or {}

    def unscoped(value):
        return value.rpartition('.')[2] if isinstance(value, str) else value

    if any(
        unscoped(have.get(key)) != unscoped(want[key])
        for key in ('type', 'arch', 'depth')
        if key in want
    ):
        raise ConfigError(
            f"strategy {name!r} for {arch}: its fragment names {arch}'s backbone modules, but the "
            f"config's backbone is {have.get('type')} ({have.get('arch', have.get('depth', ''))})"
            f'; use the fragment of that backbone'
        )


def apply_strategy(cfg: Config, name: str, arch: Optional[str] = None) -> None:
    """Merge strategy ``name``'s fragment into ``cfg``, in place.

    Dicts merge key by key; the fragment's ``custom_hooks`` are added after the config's own.

    Args:
        cfg (Config): A complete config.
        name (str): A key of :data:`STRATEGIES`.
        arch (str, optional): Architecture, for per-architecture strategies.
    """
    if STRATEGIES[name].per_arch and arch:
        check_architecture(cfg, name, arch)
    keys = load_strategy(name, arch)
    hooks = keys.pop('custom_hooks', [])
    cfg.merge_from_dict(keys)
    if hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + hooks
