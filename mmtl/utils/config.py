"""Loading configs with mmtl's conveniences applied."""

import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def innermost_dataset(dataset_cfg: ConfigDict) -> ConfigDict:
    """Follow wrapper datasets (``RepeatDataset``, ``ClassBalancedDataset`` ...) inwards."""
    while isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


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
        dataset = innermost_dataset(loader.dataset)
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


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, merge command-line overrides and apply mmtl's shortcuts.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` style overrides. Defaults to None.

    Returns:
        Config: The final config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_data_root(cfg)
    fix_dataloader_workers(cfg)
    return cfg
