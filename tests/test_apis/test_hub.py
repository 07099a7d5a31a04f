"""``mmtl.get_model`` / ``mmtl.list_models``: models by name over the model index."""

import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmtl_testing import REPO_ROOT

import mmtl
from mmtl.utils.checkpoint import (
    CheckpointDownloadError,
    UnsafeCheckpointError,
    cached_checkpoint_path,
)
from mmtl.utils.errors import ConfigError

CONFIG_NAMES = sorted(
    osp.basename(p)[:-3] for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))
)
MNV2_URL = (
    'https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
    'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'
)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty private torch hub cache, downloads forbidden."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMTL_OFFLINE', '1')
    return tmp_path


def save_checkpoint(model, path, classes=None):
    meta = {'dataset_meta': {'classes': list(classes)}} if classes else {}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


def test_list_models_names_every_config_and_filters():
    assert mmtl.list_models() == CONFIG_NAMES
    fruit = mmtl.list_models('*FRUIT*')
    assert fruit == [n for n in CONFIG_NAMES if 'fruit' in n] and 'mobilenet-v2_digits' not in fruit
    assert mmtl.list_models('resnet50_*') == [n for n in CONFIG_NAMES if n.startswith('resnet50_')]
    assert mmtl.apis.list_models is mmtl.list_models


def test_get_model_num_classes_and_overrides():
    model = mmtl.get_model('mobilenet-v2_mlp-head_fruit', num_classes=3, head=dict(dropout=0.25))
    assert model.head.fc.out_features == 3 and model.head.dropout.p == 0.25
    assert not model.training
    with torch.no_grad():
        assert model(torch.rand(2, 3, 64, 64)).shape == (2, 3)
    assert model._config.model.head.num_classes == 3


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="'mobilenet-v2_fruit'"):
        mmtl.get_model('mobilenet-v2_fruti')


def test_pretrained_path_keeps_backbone_skips_other_head(tmp_path):
    source = mmtl.get_model('mobilenet-v2_fruit')  # 30 classes
    classes = [f'c{i}' for i in range(30)]
    ckpt = save_checkpoint(source, tmp_path / 'fruit30.pth', classes)

    same = mmtl.get_model('mobilenet-v2_fruit', pretrained=ckpt)
    for key, value in source.state_dict().items():
        assert torch.equal(same.state_dict()[key], value), key
    assert list(same._dataset_meta['classes']) == classes

    three = mmtl.get_model('mobilenet-v2_fruit', pretrained=ckpt, num_classes=3)
    conv = 'backbone.conv1.conv.weight'
    assert torch.equal(three.state_dict()[conv], source.state_dict()[conv])
    assert three.head.fc.weight.shape == (3, 1280)
    assert not three._dataset_meta.get('classes')  # 30 names do not describe a 3-class head


def test_pretrained_true_uses_load_from_through_the_cache(offline_hub):
    with pytest.raises(CheckpointDownloadError) as err:
        mmtl.get_model('mobilenet-v2_fruit', pretrained=True)
    assert cached_checkpoint_path(MNV2_URL) in str(err.value)
    assert 'pretrained=' in str(err.value)

    imagenet = mmtl.get_model('mobilenet-v2_fruit', num_classes=1000)
    target = cached_checkpoint_path(MNV2_URL)
    os.makedirs(osp.dirname(target), exist_ok=True)
    save_checkpoint(imagenet, target)
    model = mmtl.get_model('mobilenet-v2_fruit', pretrained=True, num_classes=5)
    conv = 'backbone.layer7.0.conv.0.conv.weight'
    assert torch.equal(model.state_dict()[conv], imagenet.state_dict()[conv])
    assert model.head.fc.out_features == 5


def test_pretrained_true_without_weights_is_refused():
    with pytest.raises(ConfigError, match='no load_from'):
        mmtl.get_model('mobilenet-v2_scratch_fruit', pretrained=True)


def test_pretrained_goes_through_the_safe_loader(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ('pwned',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, path)
    with pytest.raises(UnsafeCheckpointError):
        mmtl.get_model('mobilenet-v2_fruit', pretrained=str(path))


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'features.0.weight': torch.zeros(3)}}, path)
    with pytest.raises(ConfigError, match='no tensor of'):
        mmtl.get_model('mobilenet-v2_fruit', pretrained=str(path))


#: Modules that ``import mmtl`` must not import (start-up time): loaded when first used.
LAZY_MODULES = ('mmtl.apis.hub', 'optuna', 'mlflow', 'wandb', 'pytorch_grad_cam')


@pytest.mark.slow
def test_import_mmtl_loads_no_optional_library():
    code = (
        f'import sys, mmtl; print(*[m in sys.modules for m in {LAZY_MODULES!r}]); '
        'mmtl.list_models; print("mmtl.apis.hub" in sys.modules)'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False'] * len(LAZY_MODULES) + ['True']
