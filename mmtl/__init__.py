"""mmtl: transfer learning for image classification on mmengine and mmpretrain.

Importing mmtl makes mmengine load checkpoints through mmtl's safe loaders, lets configs
anywhere inherit mmtl's own (``_base_ = ['mmtl::mobilenet-v2_fruit.py']``) and registers
``MMTLRunner`` with mmengine's root runner registry (the standard OpenMMLab train script
builds ``runner_type='MMTLRunner'`` without a default scope).

Everything else is imported on demand, so that ``import mmtl`` costs about what
``import mmpretrain`` does: the registries in :mod:`mmtl.registry` name the modules that
register into them (their ``locations``, mmpretrain's included), and mmengine imports those
the first time a config is built in the ``mmtl`` scope. ``mmtl.datasets``, ``mmtl.models``
and the other subpackages are imported on first attribute access.
"""

import importlib
import sys
from types import ModuleType
from typing import Any

from .import_hooks import when_imported
from .utils.config import register_config_package
from .version import __version__


def _register_with_mmengine_runner(_runner_package: ModuleType) -> None:
    """Safe checkpoint loaders and ``MMTLRunner`` into mmengine, once ``mmengine.runner`` is in.

    Run at ``import mmtl`` if ``mmengine.runner`` is already imported, else right after its
    first import (before that import returns): no checkpoint can be loaded through mmengine
    before mmtl's loaders are registered, and ``import mmtl`` need not import torch for it.
    """
    if _initializing('utils.checkpoint'):
        # ``mmtl.utils.checkpoint`` is importing mmengine.runner: it is finished, and its
        # loaders and MMTLRunner registered, by ``_register_checkpoint_loaders`` below.
        return
    from .utils import checkpoint

    _register_safe_loaders(checkpoint)
    if _initializing('registry'):
        # ``mmtl.registry`` is importing mmpretrain, which imports mmengine.runner: MMTLRunner
        # needs the finished registries, so ``mmtl.registry`` registers it at its end.
        return
    register_runner()


def _register_safe_loaders(checkpoint: ModuleType) -> None:
    """mmtl's safe loader for every checkpoint scheme, ``hf-hub:`` included."""
    from .utils.hf_hub import register_hf_hub_scheme

    checkpoint.register_checkpoint_schemes()
    register_hf_hub_scheme()  # load_from='hf-hub:timm/<name>' through the local HF cache


def _register_checkpoint_loaders(checkpoint: ModuleType) -> None:
    """Safe loaders (and MMTLRunner) right after ``mmtl.utils.checkpoint`` is first imported."""
    _register_safe_loaders(checkpoint)
    if not _initializing('registry'):
        register_runner()


def _initializing(submodule: str) -> bool:
    """Whether ``mmtl.<submodule>`` is being imported (its code has not finished running)."""
    module = sys.modules.get(f'{__name__}.{submodule}')
    return module is not None and getattr(module.__spec__, '_initializing', False)


def register_runner() -> None:
    """Register ``MMTLRunner`` in mmengine's root runner registry (importing mmtl.engine)."""
    from .engine import runner  # noqa: F401  (registers MMTLRunner in mmengine's RUNNERS)


when_imported('mmengine.runner', _register_with_mmengine_runner)
when_imported(f'{__name__}.utils.checkpoint', _register_checkpoint_loaders)
register_config_package()  # _base_ = ['mmtl::mobilenet-v2_fruit.py'] in a user's own config

# Subpackages imported on first use (``mmtl.datasets.FolderDataset``), not at ``import mmtl``.
_LAZY_SUBPACKAGES = frozenset(
    {
        'advisor',
        'analysis',
        'apis',
        'datasets',
        'deployment',
        'engine',
        'evaluation',
        'experiments',
        'models',
        'registry',
        'search',
        'utils',
        'visualization',
    }
)

#: Public functions defined in submodules, imported only when first used (start-up time).
_LAZY_FUNCTIONS = {
    'get_model': 'mmtl.apis.hub',
    'list_models': 'mmtl.apis.hub',
    'fit': 'mmtl.apis.fit',
    'test': 'mmtl.apis.fit',
}


def __getattr__(name: str) -> Any:
    """Import ``mmtl.<name>`` (a subpackage) or a lazy function's module on first access.

    Args:
        name (str): The attribute asked for (PEP 562).

    Returns:
        module | Callable: The imported subpackage, or the function.

    Raises:
        AttributeError: ``name`` is neither an mmtl subpackage nor a lazy function.
    """
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f'{__name__}.{name}')
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['__version__', 'get_model', 'list_models']
