"""mmtl: transfer learning for image classification on mmengine and mmpretrain.

``import mmtl`` is light: it lets configs inherit mmtl's own (``mmtl::name.py``) and passes
``MMTL_OFFLINE=1`` on to the Hugging Face hub. Subpackages are imported on first attribute
access; ``mmtl.engine`` registers the safe checkpoint loaders and ``MMTLRunner``.
"""

import os

from .config.load import register_config_package
from .lazy import lazy_exports
from .version import __version__

register_config_package()  # _base_ = ['mmtl::mobilenet-v2_fruit.py'] in a user's own config
if os.environ.get('MMTL_OFFLINE', '0') not in ('', '0'):
    # huggingface_hub (and timm through it) read this when imported: no hub call then.
    os.environ.setdefault('HF_HUB_OFFLINE', '1')

#: Public functions, imported with their module on first use; subpackages likewise.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {'get_model': 'apis.hub', 'list_models': 'apis.hub', 'fit': 'apis.fit', 'test': 'apis.fit'},
)

__all__ = ['__version__', 'get_model', 'list_models']
