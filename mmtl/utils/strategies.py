"""mmtl's transfer strategies, read from their config fragments.

Each strategy is one file under ``configs/_base_/strategies/`` holding a single top-level
``strategy`` dict: its ``name`` and the config keys it sets (``model``, ``load_from``,
``optim_wrapper.paramwise_cfg``). The ``*_<strategy>_fruit.py`` configs inherit these files;
the few-shot experiment and the advisor read them here, so that the three agree. Where the
frozen modules depend on the backbone the fragment is per architecture
(``partial_ft_mobilenet_v2.py``). Learning rate and weight decay are left to the recipe: they
belong to its optimizer and batch size, not to the strategy.
"""

import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config import packaged_config_path

#: Folder of the strategy fragments, relative to mmtl's config folder.
STRATEGY_DIR = '_base_/strategies'


def strategy_fragment_path(name: str, arch: Optional[str] = None) -> str:
    """The fragment file of strategy ``name`` (for backbone ``arch`` where it matters).

    Args:
        name (str): Strategy name, ``'linear-probe'`` or ``'linear_probe'``.
        arch (str, optional): Architecture (``'mobilenet_v2'``, ``'resnet50'``); used for
            strategies whose fragment is per architecture.

    Returns:
        str: Path of the fragment.

    Raises:
        KeyError: mmtl has no fragment for that strategy (and architecture).
    """
    stem = name.replace('-', '_')
    tried = ([f'{stem}_{arch.replace("-", "_")}'] if arch else []) + [stem]
    for candidate in tried:
        path = packaged_config_path(f'{STRATEGY_DIR}/{candidate}.py')
        if path is not None:
            return path
    names = ', '.join(f'{STRATEGY_DIR}/{c}.py' for c in tried)
    raise KeyError(f'no strategy fragment {names} among mmtl configs')


def load_strategy(name: str, arch: Optional[str] = None) -> dict:
    """The config keys strategy ``name`` sets, as a plain nested dict.

    Args:
        name (str): Strategy name (``'linear-probe'``, ``'partial-ft'``, ...).
        arch (str, optional): Architecture, for per-architecture fragments.

    Returns:
        dict: The fragment's ``strategy`` dict without its ``name``: top-level config keys
        mapped to the values to merge into a config.
    """
    path = strategy_fragment_path(name, arch)
    fragment = Config.fromfile(path).to_dict().get('strategy')
    if not isinstance(fragment, dict):
        raise KeyError(f'{osp.basename(path)}: the fragment has no `strategy` dict')
    fragment.pop('name', None)
    return fragment
