"""Building the dataset of a split from a config, for the analysis tools and the advisor."""

import copy

from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmtl.config.access import innermost_dataset
from mmtl.registry import DATASETS
from mmtl.utils.errors import ConfigError

__all__ = ['SPLIT_LOADERS', 'build_dataset']

SPLIT_LOADERS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def build_dataset(cfg: Config, split: str, test_pipeline: bool = False):
    """Build the dataset of ``split`` (``train``, ``val`` or ``test``).

    Args:
        cfg (Config): The config (``data_root`` already applied).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        test_pipeline (bool): Read it through the test pipeline (no augmentation) instead of
            its own. Defaults to False.

    Returns:
        The built dataset.

    Raises:
        ConfigError: The config has no dataloader with a dataset for the split.
    """
    key = SPLIT_LOADERS[split]
    loader = cfg.get(key)
    if not loader or not isinstance(loader.get('dataset'), dict):
        raise ConfigError(f'the config has no {key}.dataset')
    dataset_cfg = loader.dataset
    if test_pipeline:
        dataset_cfg = copy.deepcopy(dataset_cfg)
        pipeline = innermost_dataset(cfg.test_dataloader.dataset).pipeline
        innermost_dataset(dataset_cfg).pipeline = copy.deepcopy(pipeline)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        return DATASETS.build(dataset_cfg)
