"""Building the dataset of a split from a config, for the analysis tools."""

from mmengine.config import Config
from mmengine.registry import DefaultScope

__all__ = ['SPLIT_LOADERS', 'build_dataset']

SPLIT_LOADERS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def build_dataset(cfg: Config, split: str):
    """Build the dataset of ``split`` (``train``, ``val`` or ``test``) with its pipeline.

    Raises:
        KeyError: The split is unknown or the config has no dataloader for it.
    """
    loader = cfg.get(SPLIT_LOADERS[split])
    if not loader or not loader.get('dataset'):
        raise KeyError(f'the config has no {SPLIT_LOADERS[split]}.dataset')
    from mmtl.registry import DATASETS

    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        return DATASETS.build(loader.dataset)
