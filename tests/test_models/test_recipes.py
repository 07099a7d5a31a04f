"""The recipe fragments (configs/_base_/recipes/) combine into one valid config that trains."""

import os.path as osp

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmtl_testing import REPO_ROOT

from mmtl.config import load_config
from mmtl.registry import MODELS, TRANSFORMS

RECIPE_CONFIG = """
_base_ = [
    '{configs}/convnext-v2-atto_fruit.py',
    '{configs}/_base_/recipes/randaugment.py',
    '{configs}/_base_/recipes/mixup_cutmix.py',
    '{configs}/_base_/recipes/label_smoothing.py',
    '{configs}/_base_/recipes/ema.py',
    '{configs}/_base_/recipes/stochastic_depth.py',
]
model = dict(
    backbone=dict(drop_path_rate={{{{_base_.drop_path_rate}}}}),
    head=dict(num_classes=7, loss={{{{_base_.label_smoothing_loss}}}}),  # the user's classes
    train_cfg=dict(augments={{{{_base_.mixup_cutmix_augments}}}}),
)
train_dataloader = dict(dataset=dict(pipeline={{{{_base_.randaugment_train_pipeline}}}}))
custom_hooks = [{{{{_base_.ema_hook}}}}]
"""


def test_all_recipes_in_one_config_build_and_train_a_step(tmp_path):
    path = tmp_path / 'recipe.py'
    path.write_text(RECIPE_CONFIG.format(configs=osp.join(REPO_ROOT, 'configs')))
    cfg = load_config(str(path))  # mmtl checks every key against the types it configures
    assert cfg.custom_hooks[0].type == 'EMAHook'
    assert cfg.train_dataloader.dataset.pipeline[1].type == 'RandAugment'
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)  # as mmengine's Runner
    with DefaultScope.overwrite_default_scope('mmtl'):
        model = MODELS.build(cfg.model)
        augment = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[1])
    assert model.backbone.stages[-1][-1].drop_path.drop_prob > 0
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    assert augment({'img': image})['img'].shape == (32, 32, 3)

    from mmpretrain.structures import DataSample

    model.train()
    images = torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8)
    samples = [DataSample().set_gt_label(i % 7) for i in range(4)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    assert samples[0].gt_score.shape == (7,)  # soft labels from Mixup/CutMix
    losses = model(inputs, samples, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()


def test_a_one_hot_class_count_other_than_the_heads_is_refused():
    import pytest
    from mmengine.config import Config

    from mmtl.utils.errors import ConfigError

    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'mobilenet_v3_small.py')
    )
    cfg.model.head.num_classes = 7
    cfg.model.train_cfg = dict(augments=[dict(type='Mixup', alpha=0.8)])
    cfg.model.data_preprocessor = dict(type='TransferDataPreprocessor', num_classes=30)
    with DefaultScope.overwrite_default_scope('mmtl'):
        with pytest.raises(ConfigError, match=r'^data_preprocessor.num_classes=30 differs from '):
            MODELS.build(cfg.model)
