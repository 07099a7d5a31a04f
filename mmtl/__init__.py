"""mmtl: transfer learning for image classification on mmengine and mmpretrain.

``import mmtl`` is light: it lets configs anywhere inherit mmtl's own
(``_base_ = ['mmtl::mobilenet-v2_fruit.py']``) and passes ``MMTL_OFFLINE=1`` on to the
Hugging Face hub (which timm uses). Everything else is imported on first use:
``mmtl.engine`` registers mmtl's safe checkpoint loaders and ``MMTLRunner`` with mmengine,
and mmtl's base runtime config imports it (``custom_imports``), so any Runner built from an
mmtl config loads checkpoints safely. The subpackages (``mmtl.datasets``, ``mmtl.models``,
...) are imported on first attribute access.
"""

import importlib
import os
from typing import Any

from .utils.config import register_config_package
from .version import __version__

register_config_package()  # _base_ = ['mmtl::mobilenet-v2_fruit.py'] in a user's own config
if os.environ.get('MMTL_OFFLINE', '0') not in ('', '0'):
    # huggingface_hub (and timm through it) read this when imported: no hub call then.
    os.environ.setdefault('HF_HUB_OFFLINE', '1')

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
