"""Reading parts of a config: the datasets behind wrappers. Imports nothing from mmtl."""

from typing import List

from mmengine.config import ConfigDict


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
