import copy

import pytest
from mmengine.config import Config
from mmtl_testing import REPO_ROOT

from mmtl.config.load import load_config
from mmtl.datasets.builder import build_dataset
from mmtl.utils.errors import ConfigError

FRUIT_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_fruit.py'


def test_a_split_without_a_dataset_is_a_config_error_naming_the_key():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='FolderDataset'))))
    with pytest.raises(ConfigError, match=r'^the config has no val_dataloader\.dataset$'):
        build_dataset(cfg, 'val')


def test_the_test_pipeline_replaces_the_augmentation_inside_a_wrapper(fruit_root):
    cfg = load_config(FRUIT_CONFIG, {'data_root': fruit_root})
    inner = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=inner)
    before = copy.deepcopy(cfg.train_dataloader)
    dataset = build_dataset(cfg, 'train', test_pipeline=True)
    steps = [type(t).__name__ for t in dataset.dataset.pipeline.transforms]
    assert steps == [s['type'] for s in cfg.test_dataloader.dataset.pipeline]
    assert cfg.train_dataloader == before  # the config itself keeps its augmentation
    augmented = build_dataset(cfg, 'train')
    assert [type(t).__name__ for t in augmented.dataset.pipeline.transforms] != steps
