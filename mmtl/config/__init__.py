"""mmtl's configs: load a file, resolve what mmtl means by it, check it before any work.

- :mod:`.load`: config files by path, bare name or ``mmtl::`` name, with overrides;
- :mod:`.resolve`: ``data_root``, ``input_size``, ``'auto'`` loader settings, disabled hooks;
- :mod:`.check` and :mod:`.check_keys`: values, data folders, type names and every key;
- :mod:`.access`: reading parts of a config (the datasets behind wrappers, the input size,
  the model as the runner builds it);
- :mod:`.model_card`: the sealed description a checkpoint carries, built back into a config.

The names below are imported on first use: ``import mmtl`` stays light.
"""

from mmtl.lazy import lazy_exports

#: Public name -> the submodule (of this package) that defines it.
_LAZY_NAMES = {
    'apply_data_root': 'resolve',
    'load_config': 'load',
    'read_config': 'load',
    'resolve_config': 'resolve',
    'validate_config': 'check',
}

__all__ = sorted(_LAZY_NAMES)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_NAMES)
