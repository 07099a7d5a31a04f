"""mmtl's utilities, imported on first use.

``from mmtl.utils import load_config`` keeps working, but ``import mmtl.utils`` (which
``import mmtl`` does) imports none of the submodules: :mod:`mmtl.utils.checkpoint` imports
torch, and a tool's ``--help`` must not pay for it (#16 start-up).
"""

import importlib
from typing import Any, List

#: Public name -> the submodule (of this package) that defines it.
_LAZY_NAMES = {
    'CheckpointDownloadError': 'checkpoint',
    'CheckpointError': 'checkpoint',
    'NotACheckpointError': 'checkpoint',
    'UnsafeCheckpointError': 'checkpoint',
    'apply_data_root': 'config',
    'atomic_open': 'fileio',
    'cached_checkpoint_path': 'checkpoint',
    'download_checkpoint': 'checkpoint',
    'is_url': 'checkpoint',
    'load_config': 'config',
    'register_all_modules': 'setup_env',
    'register_checkpoint_schemes': 'checkpoint',
    'safe_torch_load': 'checkpoint',
    'validate_config': 'config',
}

__all__ = sorted(_LAZY_NAMES)


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first access (PEP 562).

    Args:
        name (str): A public name of :data:`__all__`, or a submodule of this package.

    Returns:
        Any: The object (cached in this module's namespace afterwards).
    """
    submodule = _LAZY_NAMES.get(name)
    if submodule is None:
        try:
            return importlib.import_module(f'{__name__}.{name}')
        except ModuleNotFoundError as err:
            if err.name != f'{__name__}.{name}':
                raise
            raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None
    value = getattr(importlib.import_module(f'{__name__}.{submodule}'), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
