"""Every shipped config builds its model, and the class count set in a config reaches the head."""

import functools
import glob
import os.path as osp

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmtl_testing import REPO_ROOT

from mmtl.config import load_config
from mmtl.models.converters import convert_torchvision_state_dict
from mmtl.registry import MODELS

CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
BASE_MODELS = sorted(
    osp.relpath(p, CONFIG_DIR) for p in glob.glob(osp.join(CONFIG_DIR, '_base_', 'models', '*.py'))
)


def build(model_cfg) -> torch.nn.Module:
    """Build a model under the mmtl scope (on the CPU: mmpretrain's ResNet needs real tensors)."""
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(model_cfg)


def classifier_outputs(model: torch.nn.Module) -> int:
    """Output size of the head's last Linear layer: the class count the model predicts."""
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    return linears[-1].out_features


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_configs_are_found():
    assert {'vgg16_fruit.py', 'densenet121_fruit.py', 'resnet50_fruit.py'} <= set(CONFIGS)
    expected = {'vgg16.py', 'vgg16_bn.py', 'densenet121.py', 'resnet34.py', 'resnet101.py'}
    assert {osp.basename(p) for p in BASE_MODELS} >= expected


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_model_with_the_class_count_it_is_given(name):
    cfg = load_config(osp.join(CONFIG_DIR, name), {'model.head.num_classes': 7})
    assert classifier_outputs(build(cfg.model)) == 7


#: torchvision architectures whose checkpoints convert into a shipped base config.
TORCHVISION_ARCHS = [
    'mobilenet_v2',
    'mobilenet_v3_small',
    'mobilenet_v3_large',
    *(f'resnet{depth}' for depth in (18, 34, 50, 101, 152)),
    'resnext50_32x4d',
    'resnext101_32x8d',
    'resnext101_64x4d',
    'wide_resnet50_2',
    'wide_resnet101_2',
    *(f'vgg{depth}{bn}' for depth in (11, 13, 16, 19) for bn in ('', '_bn')),
    *(f'densenet{depth}' for depth in (121, 161, 169, 201)),
    'convnext_tiny',
    'convnext_small',
    'swin_t',
]


def torchvision_reference(arch: str) -> torch.nn.Module:
    with torch.device('meta'):
        return getattr(torchvision.models, arch)(weights=None)


@functools.cache
def torchvision_arch_of() -> dict:
    """Base model config -> the torchvision architecture whose checkpoints convert into it."""
    return {
        convert_torchvision_state_dict(torchvision_reference(arch).state_dict()).base_config: arch
        for arch in TORCHVISION_ARCHS
    }


@pytest.mark.parametrize('name', BASE_MODELS)
def test_base_model_builds_imagenet_classifier(name):
    model = build(Config.fromfile(osp.join(CONFIG_DIR, name)).model)
    assert classifier_outputs(model) == 1000
    if name in torchvision_arch_of():
        # The converted weights fill the whole model: as many parameters as torchvision's.
        reference = torchvision_reference(torchvision_arch_of()[name])
        assert parameter_count(model) == parameter_count(reference)


def test_every_torchvision_architecture_has_a_base_model():
    assert set(torchvision_arch_of()) <= set(BASE_MODELS)
    assert len(torchvision_arch_of()) == len(TORCHVISION_ARCHS)


@pytest.mark.parametrize(
    'name, backbone, url_name',
    [
        ('vgg16_fruit.py', 'VGG', 'vgg16-397923af.pth'),
        ('densenet121_fruit.py', 'DenseNet', 'densenet121_4xb256_in1k_20220426-07450f99.pth'),
    ],
)
def test_new_fruit_configs(name, backbone, url_name):
    cfg = load_config(osp.join(CONFIG_DIR, name))
    assert cfg.model.backbone.type == backbone
    assert cfg.model.head.num_classes == 30
    assert cfg.data_root == 'data/fruit30_split'
    assert cfg.train_dataloader.dataset.data_root == 'data/fruit30_split'
    assert cfg.load_from.startswith('https://') and cfg.load_from.endswith('/' + url_name)
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    assert cfg.optim_wrapper.optimizer.lr == 0.01


def test_vgg_fine_tuning_replaces_only_the_last_layer():
    """30 classes: the two 4096-wide layers keep their ImageNet shapes (and so their weights)."""
    cfg = load_config(osp.join(CONFIG_DIR, 'vgg16_fruit.py'))
    shapes = {k: tuple(v.shape) for k, v in build(cfg.model).state_dict().items()}
    assert shapes['head.layers.0.fc.weight'] == (4096, 512 * 7 * 7)
    assert shapes['head.layers.1.fc.weight'] == (4096, 4096)
    assert shapes['head.layers.2.fc.weight'] == (30, 4096)
