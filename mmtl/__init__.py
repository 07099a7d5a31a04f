"""mmtl: transfer learning for image classification on mmengine and mmpretrain.

Importing mmtl registers its datasets, models, hooks and metrics in the ``mmtl`` registries,
makes mmengine load checkpoints through mmtl's safe loaders, and lets configs anywhere
inherit mmtl's own (``_base_ = ['mmtl::mobilenet-v2_fruit.py']``).
"""

from mmpretrain.utils import register_all_modules as _register_mmpretrain_modules

from .utils.checkpoint import register_checkpoint_schemes
from .utils.config import register_config_package
from .version import __version__

# mmtl's registries fall back to mmpretrain's, which must hold mmpretrain's modules.
_register_mmpretrain_modules(init_default_scope=False)

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,I001

register_checkpoint_schemes()
register_config_package()  # _base_ = ['mmtl::mobilenet-v2_fruit.py'] in a user's own config

#: Public names defined in submodules that are imported only when first used (start-up time).
_LAZY = {'get_model': 'mmtl.apis.hub', 'list_models': 'mmtl.apis.hub'}

__all__ = ['__version__', 'get_model', 'list_models']


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
