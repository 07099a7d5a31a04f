"""mmtl: transfer learning for image classification on mmengine and mmpretrain.

Importing mmtl registers its datasets, models, hooks and metrics in the ``mmtl`` registries,
makes mmengine load checkpoints through mmtl's safe loaders, and lets configs anywhere
inherit mmtl's own (``_base_ = ['mmtl::mobilenet-v2_fruit.py']``).
"""

from mmpretrain.utils import register_all_modules as _register_mmpretrain_modules

from .utils.checkpoint import register_checkpoint_schemes
from .utils.config import register_config_package
from .utils.hf_hub import register_hf_hub_scheme
from .version import __version__

# mmtl's registries fall back to mmpretrain's, which must hold mmpretrain's modules.
_register_mmpretrain_modules(init_default_scope=False)

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,I001

register_checkpoint_schemes()
register_hf_hub_scheme()
register_config_package()  # _base_ = ['mmtl::mobilenet-v2_fruit.py'] in a user's own config

__all__ = ['__version__']
