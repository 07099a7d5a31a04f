"""Loading mmtl configs: config files by path, bare name or ``mmtl::`` name, plus overrides.

:func:`read_config` gives the config as written (what a Runner dumps into its work dir);
:func:`load_config` also applies mmtl's meaning (:func:`~.config_semantics.resolve_config`),
for tools that build datasets or models without a Runner. The Runner applies it itself
(:meth:`mmtl.engine.MMTLRunner.from_cfg`).
"""

import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .config_access import innermost_dataset, leaf_datasets  # noqa: F401 (old import location)
from .config_checks import (  # noqa: F401 (old import location)
    check_cfg_options,
    check_data_roots,
    check_num_classes,
    check_type_names,
    check_value_ranges,
    count_training_classes,
    registry_type_names,
    validate_config,
)
from .config_semantics import (  # noqa: F401 (old import location)
    apply_data_root,
    apply_input_size,
    drop_disabled_default_hooks,
    drop_schedulers_past_the_end,
    resolve_config,
)
from .loader_defaults import (  # noqa: F401 (old import location)
    DATALOADER_KEYS,
    fix_dataloader_workers,
    resolve_dataloader_defaults,
)

#: Prefix of mmtl's own configs in ``_base_`` lists and on the command line.
PACKAGE_PREFIX = 'mmtl::'


def packaged_config_dirs() -> List[str]:
    """Folders holding mmtl's own configs: the installed ``.mim`` copy, or the source tree."""
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [osp.join(package_dir, '.mim', 'configs'), osp.join(package_dir, '..', 'configs')]
    return [osp.realpath(d) for d in candidates if osp.isdir(d)]


def packaged_config_path(name: str) -> Optional[str]:
    """The mmtl config ``name`` (``'mobilenet-v2_fruit.py'``, ``'_base_/models/resnet50.py'``).

    Args:
        name (str): Path relative to mmtl's config folder, with or without ``mmtl::``.

    Returns:
        str | None: The file, or None if mmtl has no such config.
    """
    if name.startswith(PACKAGE_PREFIX):
        name = name[len(PACKAGE_PREFIX) :]
    for config_dir in packaged_config_dirs():
        candidate = osp.join(config_dir, name)
        if osp.isfile(candidate):
            return candidate
    return None


def resolve_config_path(path: str) -> str:
    """Return ``path`` if it is a file, else the mmtl config of that name (``mim``-style).

    Args:
        path (str): A config file path, ``'mmtl::name.py'``, or a bare name such as
            ``'mobilenet-v2_fruit.py'``.

    Returns:
        str: An existing config file.

    Raises:
        FileNotFoundError: Neither a file nor the name of a packaged config.
    """
    if osp.isfile(path):
        return path
    if path.startswith(PACKAGE_PREFIX) or osp.dirname(path) == '':
        found = packaged_config_path(path)
        if found is not None:
            return found
    raise FileNotFoundError(
        f'config file not found: {path} (nor among mmtl configs in {packaged_config_dirs()})'
    )


def read_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge command-line overrides, checked: the config as written.

    Args:
        path (str): The config file, ``mmtl::name.py``, or the bare name of an mmtl config.
        cfg_options (dict, optional): ``--cfg-options`` style overrides. Defaults to None.

    Returns:
        Config: File + overrides, before mmtl's meaning is applied (see :func:`load_config`).

    Raises:
        ConfigError: A ``cfg_options`` key or value does not fit the config (see
            :func:`~.config_checks.check_cfg_options`).
    """
    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, merge command-line overrides and apply mmtl's meaning.

    Args:
        path (str): The config file, ``mmtl::name.py``, or the bare name of an mmtl config.
        cfg_options (dict, optional): ``--cfg-options`` style overrides. Defaults to None.

    Returns:
        Config: The resolved config (:func:`~.config_semantics.resolve_config`).

    Raises:
        ConfigError: A ``cfg_options`` value does not fit the key (see
            :func:`~.config_checks.check_cfg_options`).
    """
    return resolve_config(read_config(path, cfg_options))
