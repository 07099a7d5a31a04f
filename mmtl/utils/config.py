"""Loading configs with mmtl's conveniences applied."""

import os.path as osp
from typing import List, Optional

from mmengine.config import Config, ConfigDict

from mmtl.datasets.loader_defaults import resolve_dataloader_defaults

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def innermost_dataset(dataset_cfg: ConfigDict) -> ConfigDict:
    """Follow wrapper datasets (``RepeatDataset``, ``ClassBalancedDataset`` ...) inwards."""
    while isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def leaf_datasets(dataset_cfg: ConfigDict) -> List[ConfigDict]:
    """The datasets that read data, through wrappers and ``ConcatDataset``'s ``datasets``."""
    dataset_cfg = innermost_dataset(dataset_cfg)
    children = dataset_cfg.get('datasets')
    if isinstance(children, (list, tuple)):
        return [leaf for child in children for leaf in leaf_datasets(child)]
    return [dataset_cfg]


def apply_data_root(cfg: Config) -> None:
    """Copy the top-level ``data_root`` into each dataloader's dataset that has none.

    Base dataset configs leave ``data_root`` out of their datasets, so a config (or
    ``--cfg-options data_root=...``) points all splits at a dataset with one key. A
    dataset that sets its own ``data_root`` keeps it.

    Args:
        cfg (Config): The config, changed in place.
    """
    data_root = cfg.get('data_root')
    if data_root is None:
        return
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for dataset in leaf_datasets(loader.dataset):
            dataset.setdefault('data_root', data_root)


def fix_dataloader_workers(cfg: Config) -> None:
    """Turn off ``persistent_workers`` where ``num_workers`` is 0.

    PyTorch refuses ``persistent_workers=True`` without worker processes, so a user who sets
    ``num_workers=0`` (to debug, or on a small machine) would otherwise get a crash.

    Args:
        cfg (Config): The config, changed in place.
    """
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if loader and loader.get('num_workers', 0) == 0 and loader.get('persistent_workers'):
            loader.persistent_workers = False


def drop_schedulers_past_the_end(cfg: Config) -> None:
    """Remove epoch-based lr/momentum schedulers that would start after training ends.

    A 30-epoch schedule cut to ``train_cfg.max_epochs=1`` for a smoke run would otherwise
    fail with "end should be larger than begin" in the cosine phase that starts at epoch 1.

    Args:
        cfg (Config): The config, changed in place.
    """
    train_cfg = cfg.get('train_cfg') or {}
    schedulers = cfg.get('param_scheduler')
    max_epochs = train_cfg.get('max_epochs')
    if not train_cfg.get('by_epoch', True) or max_epochs is None:
        return
    if not isinstance(schedulers, list):
        return
    kept = [s for s in schedulers if not s.get('by_epoch', True) or s.get('begin', 0) < max_epochs]
    cfg.param_scheduler = kept


def packaged_config_dirs() -> List[str]:
    """Folders holding mmtl's own configs: the installed ``.mim`` copy, or the source tree."""
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [osp.join(package_dir, '.mim', 'configs'), osp.join(package_dir, '..', 'configs')]
    return [osp.realpath(d) for d in candidates if osp.isdir(d)]


def resolve_config_path(path: str) -> str:
    """Return ``path`` if it is a file, else the mmtl config of that name (``mim``-style).

    Args:
        path (str): A config file path, or a bare name such as ``'mobilenet-v2_fruit.py'``.

    Returns:
        str: An existing config file.

    Raises:
        FileNotFoundError: Neither a file nor the name of a packaged config.
    """
    if osp.isfile(path):
        return path
    if osp.dirname(path) == '':
        for config_dir in packaged_config_dirs():
            candidate = osp.join(config_dir, path)
            if osp.isfile(candidate):
                return candidate
    raise FileNotFoundError(
        f'config file not found: {path} (nor among mmtl configs in {packaged_config_dirs()})'
    )


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, merge command-line overrides and apply mmtl's shortcuts.

    Args:
        path (str): The config file, or the bare name of one of mmtl's configs.
        cfg_options (dict, optional): ``--cfg-options`` style overrides. Defaults to None.

    Returns:
        Config: The final config.
    """
    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_data_root(cfg)
    resolve_dataloader_defaults(cfg)  # 'auto' workers / pin_memory (mmtl.datasets)
    fix_dataloader_workers(cfg)
    drop_schedulers_past_the_end(cfg)
    return cfg
