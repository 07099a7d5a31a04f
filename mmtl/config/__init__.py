"""mmtl's configs: load a file, resolve what mmtl means by it, check it before any work.

- :mod:`.load`: config files by path, bare name or ``mmtl::`` name, with overrides;
- :mod:`.resolve`: ``data_root``, ``input_size``, ``'auto'`` loader settings, disabled hooks;
- :mod:`.check` and :mod:`.check_keys`: values, data folders, type names and every key;
- :mod:`.access`: reading parts of a config (a dotted key, the datasets behind wrappers, the
  test pipeline, the model as the runner builds it), merging changes into one, and writing
  a child config that inherits the user's;
- :mod:`.strategies`: the table of fine-tuning strategies over their config fragments;
- :mod:`.model_card`: the sealed description a checkpoint carries, built back into a config.

``import mmtl`` imports load, resolve and check (it registers ``mmtl::`` config names);
their dependencies are mmengine's config, not torch.
"""

from .check import validate_config
from .load import load_config, read_config
from .resolve import apply_data_root, resolve_config

__all__ = ['apply_data_root', 'load_config', 'read_config', 'resolve_config', 'validate_config']
