"""Every shipped config builds its model, and the class count set in a config reaches the head."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmtl_testing import REPO_ROOT

import mmtl  # noqa: F401  (registers mmtl's models)
from mmtl.models.converters import TORCHVISION_CONVERTERS
from mmtl.registry import MODELS
from mmtl.utils import load_config

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


#: Base model config -> the torchvision architecture whose checkpoints convert into it.
TORCHVISION_ARCH = {c.base_config: arch for arch, c in TORCHVISION_CONVERTERS.items()}


@pytest.mark.parametrize('name', BASE_MODELS)
def test_base_model_builds_imagenet_classifier(name):
    model = build(Config.fromfile(osp.join(CONFIG_DIR, name)).model)
    assert classifier_outputs(model) == 1000
    if name in TORCHVISION_ARCH:
        # The converted weights fill the whole model: as many parameters as torchvision's.
        with torch.device('meta'):
            reference = TORCHVISION_CONVERTERS[TORCHVISION_ARCH[name]].build_reference()
        assert parameter_count(model) == parameter_count(reference)


def test_every_torchvision_architecture_has_a_base_model():
    assert set(TORCHVISION_ARCH) <= set(BASE_MODELS)
    assert len(TORCHVISION_ARCH) == len(TORCHVISION_CONVERTERS) == 23


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
