"""Loading mmtl configs: config files by path, bare name or ``mmtl::`` name, plus overrides.

:func:`read_config` gives the config as written; :func:`load_config` also applies mmtl's
meaning (:func:`~.resolve.resolve_config`), for tools that build without a Runner.
"""

import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .check import check_cfg_options
from .resolve import resolve_config

#: Prefix of mmtl's own configs in ``_base_`` lists and on the command line.
PACKAGE_PREFIX = 'mmtl::'


def packaged_config_dirs() -> List[str]:
    """Folders holding mmtl's own configs: the installed ``.mim`` copy, or the source tree."""
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [osp.join(package_dir, '.mim', 'configs'), osp.join(package_dir, '..', 'configs')]
    return list(dict.fromkeys(osp.realpath(d) for d in candidates if osp.isdir(d)))


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
        candidate = osp.realpath(osp.join(config_dir, name))
        inside = osp.commonpath([candidate, config_dir]) == config_dir
        if inside and osp.isfile(candidate):
            return candidate
    return None


_MMENGINE_GET_CFG_PATH = Config._get_cfg_path


def _get_cfg_path(cfg_path: str, filename: str):
    """mmengine's ``Config._get_cfg_path``, with ``mmtl::`` names among mmtl's configs."""
    if not cfg_path.startswith(PACKAGE_PREFIX):
        return _MMENGINE_GET_CFG_PATH(cfg_path, filename)
    found = packaged_config_path(cfg_path)
    if found is None:
        raise FileNotFoundError(
            f'{filename}: _base_ {cfg_path!r}: mmtl has no such config (mmtl configs are '
            f'in {", ".join(packaged_config_dirs())}; e.g. mmtl::mobilenet-v2_fruit.py, '
            f'mmtl::_base_/models/resnet50.py)'
        )
    return found, 'mmtl'


def register_config_package() -> None:
    """Make ``_base_ = ['mmtl::name.py']`` work in any config, wherever it lives.

    mmengine's own ``PKG::`` lookup refuses a name without a folder
    (``mmtl::mobilenet-v2_fruit.py``), so ``mmtl::`` names are looked up among
    :func:`packaged_config_dirs`; every other name goes to mmengine unchanged.
    """
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault('mmtl', 'mmtl')  # PKG2PROJECT is the same dict
    Config._get_cfg_path = staticmethod(_get_cfg_path)


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
            :func:`~.check.check_cfg_options`).
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
        Config: The resolved config (:func:`~.resolve.resolve_config`).

    Raises:
        ConfigError: A ``cfg_options`` value does not fit the key (see
            :func:`~.check.check_cfg_options`).
    """
    return resolve_config(read_config(path, cfg_options))
