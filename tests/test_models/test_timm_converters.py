"""timm checkpoints: recognition, conversion to mmpretrain's layout, identical logits.

timm is a test dependency only (requirements/tests.txt): the tests build randomly initialised
timm models (``pretrained=False``, no download) to make checkpoints; mmtl converts them from
the state dict alone.
"""

import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmtl_testing import REPO_ROOT
from mmtl_testing.models import randomize_batchnorm

from mmtl.engine.loading import read_weights
from mmtl.models.converters import convert_if_timm, convert_timm_state_dict, timm_to_mmtl_checkpoint
from mmtl.registry import MODELS
from mmtl.utils.checkpoint_converters import CHECKPOINT_CONVERTERS, convert_checkpoint
from mmtl.utils.safetensors_io import save_safetensors

timm = pytest.importorskip('timm')

FAST_MODELS = ['mobilenetv2_100', 'resnet18', 'resnet34', 'resnet50', 'densenet121']
#: The heavy ones (VGG: 138 M parameters) run in the slow group.
SLOW_MODELS = [
    'resnet101',
    'resnet152',
    'resnext50_32x4d',
    'resnext101_32x8d',
    'resnext101_64x4d',
    'wide_resnet50_2',
    'wide_resnet101_2',
    'vgg11',
    'vgg11_bn',
    'vgg13',
    'vgg13_bn',
    'vgg16',
    'vgg16_bn',
    'vgg19',
    'vgg19_bn',
    'densenet161',
    'densenet169',
    'densenet201',
]
#: The architecture a timm model converts as, where its name is not torchvision's.
TIMM_TO_ARCH = {'mobilenetv2_100': 'mobilenet_v2'}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small forward passes run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_mmtl_model(base_config: str, **head) -> torch.nn.Module:
    """The model of an mmtl base config, built under the mmtl scope, in eval mode."""
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/{base_config}')
    cfg.model.head.update(head)
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg.model).eval()


def random_timm_model(name: str, seed: int = 0, **kwargs) -> torch.nn.Module:
    """timm's ``name``, randomly initialised (no download), with random BN statistics.

    Fresh BNs (mean 0, var 1, weight 1, bias 0) would hide a BN loaded into the wrong place;
    random ones make every BN tensor count in eval mode.
    """
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, **kwargs)
    return randomize_batchnorm(model, seed + 1)


def meta_state_dict(name: str, **kwargs) -> dict:
    """A timm state dict with the right keys and shapes but no data (cheap)."""
    with torch.device('meta'):
        return timm.create_model(name, pretrained=False, **kwargs).state_dict()


def assert_same_logits(timm_model: torch.nn.Module, converted: dict, base_config: str, **head):
    mm_model = build_mmtl_model(base_config, **head)
    result = mm_model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    inputs = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = timm_model(inputs)
        logits = mm_model(inputs, mode='tensor')
    assert logits.shape == expected.shape
    assert expected.std() > 1e-3  # not a degenerate all-equal output
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)


def check_parity(name: str) -> None:
    timm_model = random_timm_model(name)
    conversion = convert_timm_state_dict(timm_model.state_dict())
    assert conversion.arch == TIMM_TO_ARCH.get(name, name)
    assert len(conversion.state_dict) == len(timm_model.state_dict())
    assert_same_logits(timm_model, conversion.state_dict, conversion.base_config)


# --------------------------------------------------------------------------------------------
# Numerical equivalence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize('name', FAST_MODELS)
def test_converted_timm_weights_give_timm_logits(name):
    check_parity(name)


@pytest.mark.slow
@pytest.mark.parametrize('name', SLOW_MODELS)
def test_converted_timm_weights_give_timm_logits_large_models(name):
    check_parity(name)


@pytest.mark.parametrize(
    'name, base', [('mobilenetv2_100', 'mobilenet_v2_1x'), ('resnet18', 'resnet18')]
)
def test_other_class_count_converts_into_model_with_that_head(name, base):
    timm_model = random_timm_model(name, num_classes=7)
    conversion = convert_timm_state_dict(timm_model.state_dict())
    assert conversion.arch == TIMM_TO_ARCH.get(name, name)
    assert_same_logits(timm_model, conversion.state_dict, f'_base_/models/{base}.py', num_classes=7)


# --------------------------------------------------------------------------------------------
# Recognition
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'name, reason',
    [
        (
            'mobilenetv2_140',
            'a MobileNet-v2 of another width or depth (stem 48 channels, 17 blocks)',
        ),
        (
            'mobilenetv2_110d',
            'a MobileNet-v2 of another width or depth (stem 32 channels, 22 blocks)',
        ),
        ('resnet50d', 'a ResNet with a deep stem (ResNet-C/D)'),
        ('resnet26', 'a ResNet with (2, 2, 2, 2) bottleneck blocks per stage'),
    ],
)
def test_other_timm_models_are_refused_saying_why(name, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        convert_timm_state_dict(meta_state_dict(name))


def test_other_timm_layout_is_loaded_unconverted_with_one_warning(tmp_path):
    """mobilenetv2_140 has timm's MobileNet-v2 keys but 1.4x the channels: say so, load as is."""
    state = meta_state_dict('mobilenetv2_140')
    logger = MMLogger.get_instance('timm_unsupported', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    result = convert_checkpoint(state, 'mnv2_140.pth')
    assert result['state_dict'].keys() == state.keys()
    log = (tmp_path / 'log.txt').read_text()
    assert log.count('WARNING') == 1  # the torchvision converter is not asked again
    assert (
        "mnv2_140.pth is a timm checkpoint (in timm's layout) of none of the architectures mmtl "
        "converts (mobilenet_v2, vgg, mobilenet_v3, convnext, swin, vit, and torchvision's "
        "layout): a MobileNet-v2 of another width or depth (stem 48 channels, 17 blocks): mmtl's "
        '_base_/models/mobilenet_v2_1x.py is width 1.0 with 17 blocks; it is loaded unconverted'
    ) in log


def test_torchvision_layout_without_timm_origin_is_left_to_the_torchvision_converter():
    """A timm ResNet saved as a bare .pth is torchvision's layout: nothing says it is timm's."""
    assert convert_if_timm(meta_state_dict('resnet18'), {}, '/tmp/resnet18.pth') is None


def test_mmpretrain_checkpoints_are_not_claimed():
    mm_state = build_mmtl_model('_base_/models/mobilenet_v2_1x.py').state_dict()
    checkpoint = {'state_dict': mm_state, 'meta': {'epoch': 3}}
    assert convert_checkpoint(checkpoint, 'mm.pth') is checkpoint
    assert convert_checkpoint(mm_state, 'mm.pth') is mm_state


# --------------------------------------------------------------------------------------------
# Through the loader: .pth and .safetensors files, one log line
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def timm_mobilenet_v2():
    return random_timm_model('mobilenetv2_100', seed=4)


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_load_checkpoint_converts_timm_file_and_logs_one_line(timm_mobilenet_v2, tmp_path, suffix):
    path = str(tmp_path / f'mobilenetv2_100{suffix}')
    if suffix == '.pth':
        torch.save(timm_mobilenet_v2.state_dict(), path)
    else:
        save_safetensors(timm_mobilenet_v2.state_dict(), path)
    logger = MMLogger.get_instance(f'timm_load{suffix}', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    mm_model = build_mmtl_model('_base_/models/mobilenet_v2_1x.py')
    checkpoint = load_checkpoint(mm_model, path, strict=True)
    assert checkpoint['meta']['converted_from'] == 'timm'
    assert checkpoint['meta']['timm_model'] == 'mobilenet_v2'
    mm_model.eval()
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), timm_mobilenet_v2(inputs), atol=1e-5, rtol=0
        )
    lines = [line for line in (tmp_path / 'log.txt').read_text().splitlines() if path in line]
    assert len(lines) == 1
    assert (
        f"{path} is a timm mobilenet_v2 checkpoint (timm's own layout): converted its 314 "
        "tensors to the layout of mmpretrain's model (as in "
        'configs/_base_/models/mobilenet_v2_1x.py)'
    ) in lines[0]


def test_torchvision_safetensors_file_is_converted_too(tmp_path):
    """The plug-in point unwraps safetensors checkpoints; before, their torchvision layout was
    loaded unconverted (0 tensors matched)."""
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    path = str(tmp_path / 'resnet18.safetensors')
    save_safetensors(model.state_dict(), path)
    checkpoint = read_weights(path)
    assert checkpoint['meta']['converted_from'] == 'torchvision'
    assert 'backbone.layer4.1.bn2.running_var' in checkpoint['state_dict']


def test_converter_tool_function_records_meta(timm_mobilenet_v2):
    checkpoint = timm_to_mmtl_checkpoint(timm_mobilenet_v2.state_dict())
    assert checkpoint['meta'] == {
        'converted_from': 'timm',
        'arch': 'mobilenet_v2',
        'timm_model': 'mobilenet_v2',
        'base_config': '_base_/models/mobilenet_v2_1x.py',
    }


# --------------------------------------------------------------------------------------------
# The plug-in point
# --------------------------------------------------------------------------------------------


def test_converters_are_registered_timm_first():
    import mmtl.models.converters  # noqa: F401  (adds the converters)

    assert list(CHECKPOINT_CONVERTERS)[:2] == ['timm', 'torchvision']


def test_a_registered_converter_is_called_by_the_load_path(tmp_path):
    calls = []

    def fake_layout(state_dict, meta, source):
        calls.append(source)
        if 'my_layout.weight' not in state_dict:
            return None
        return {'state_dict': {'backbone.w': state_dict['my_layout.weight']}, 'meta': {}}

    path = str(tmp_path / 'mine.pth')
    torch.save({'my_layout.weight': torch.ones(2)}, path)
    CHECKPOINT_CONVERTERS['fake_layout'] = fake_layout
    try:
        checkpoint = read_weights(path)
    finally:
        CHECKPOINT_CONVERTERS.pop('fake_layout')
    assert calls == [path]
    assert list(checkpoint['state_dict']) == ['backbone.w']
