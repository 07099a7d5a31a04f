"""torchvision checkpoints: recognition, conversion to mmpretrain's layout, identical logits."""

import glob
import os
import os.path as osp
import re
import sys

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env, tool_status
from mmtl_testing.models import randomize_batchnorm

from mmtl.engine.loading import read_weights
from mmtl.models.converters import (
    convert_torchvision_state_dict,
    detect_torchvision_arch,
    torchvision_checkpoint_converter,
)
from mmtl.registry import MODELS
from mmtl.utils import safe_torch_load

CONVERTER_TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters', 'torchvision2mmtl.py')

FAST_ARCHS = ['mobilenet_v2', 'resnet18', 'resnet34', 'resnet50', 'densenet121', 'vgg11']
#: The heavy ones (VGG: 133-144 M parameters, the 100+ layer ResNets) run in the slow group.
SLOW_ARCHS = [
    'resnet101',
    'resnet152',
    'resnext50_32x4d',
    'resnext101_32x8d',
    'resnext101_64x4d',
    'wide_resnet50_2',
    'wide_resnet101_2',
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


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small forward passes run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_mmtl_model(config: str, **head):
    """The model of an mmtl config (``configs/...``), built under the mmtl scope, in eval mode."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    cfg.model.head.update(head)
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg.model).eval()


def random_torchvision_model(arch: str, seed: int = 0, **kwargs) -> torch.nn.Module:
    """torchvision's ``arch``, randomly initialised, with random BN statistics and affines.

    Fresh BNs have mean 0 / var 1 / weight 1 / bias 0, which would hide a BN loaded into the
    wrong place; random ones make every BN tensor count in eval mode.
    """
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, **kwargs)
    return randomize_batchnorm(model, seed + 1)


def meta_state_dict(arch: str, **kwargs) -> dict:
    """A torchvision state dict with the right keys and shapes but no data (cheap)."""
    with torch.device('meta'):
        return getattr(torchvision.models, arch)(weights=None, **kwargs).state_dict()


def assert_same_logits(arch: str) -> None:
    tv_model = random_torchvision_model(arch)
    conversion = convert_torchvision_state_dict(tv_model.state_dict())
    converted = conversion.state_dict
    assert conversion.arch == arch
    mm_model = build_mmtl_model(conversion.base_config)
    result = mm_model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert len(converted) == len(tv_model.state_dict())

    inputs = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = tv_model(inputs)
        logits = mm_model(inputs, mode='tensor')
    assert logits.shape == (2, 1000)
    assert expected.std() > 1e-3  # not a degenerate all-equal output
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------
# Numerical equivalence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize('arch', FAST_ARCHS)
def test_converted_weights_give_torchvision_logits(arch):
    assert_same_logits(arch)


@pytest.mark.slow
@pytest.mark.parametrize('arch', SLOW_ARCHS)
def test_converted_weights_give_torchvision_logits_large_models(arch):
    assert_same_logits(arch)


def test_resnet152_is_recognised():
    """A regression refused torchvision's ResNet-152 ("not a torchvision checkpoint ...")."""
    assert detect_torchvision_arch(meta_state_dict('resnet152')) == 'resnet152'


@pytest.mark.parametrize('arch', FAST_ARCHS + SLOW_ARCHS)
def test_every_depth_is_derived_and_has_its_base_config(arch):
    """Key names repeat across a family (ResNet/ResNeXt/WRN, VGG, DenseNet); shapes differ."""
    conversion = convert_torchvision_state_dict(meta_state_dict(arch))
    assert conversion.arch == arch
    assert osp.isfile(osp.join(REPO_ROOT, 'configs', conversion.base_config))


def test_other_class_count_converts_into_model_with_that_head():
    tv_model = random_torchvision_model('resnet18', num_classes=10)
    conversion = convert_torchvision_state_dict(tv_model.state_dict())
    assert conversion.arch == 'resnet18'
    mm_model = build_mmtl_model('_base_/models/resnet18.py', num_classes=10)
    mm_model.load_state_dict(conversion.state_dict, strict=True)
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), tv_model(inputs), atol=1e-5, rtol=0
        )


# --------------------------------------------------------------------------------------------
# Recognising torchvision checkpoints
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize('arch', ['shufflenet_v2_x1_0', 'squeezenet1_1', 'alexnet'])
def test_other_torchvision_architectures_are_not_detected(arch):
    assert detect_torchvision_arch(meta_state_dict(arch)) is None


def test_mmengine_checkpoints_and_mmpretrain_state_dicts_are_not_detected():
    mm_state = build_mmtl_model('_base_/models/resnet18.py').state_dict()
    assert detect_torchvision_arch(mm_state) is None
    assert detect_torchvision_arch({'state_dict': mm_state, 'meta': {}}) is None
    assert detect_torchvision_arch({}) is None
    assert detect_torchvision_arch([torch.zeros(1)]) is None


def test_data_parallel_prefix_is_stripped():
    state = {f'module.{key}': value for key, value in meta_state_dict('resnet18').items()}
    assert detect_torchvision_arch(state) == 'resnet18'
    converted = convert_torchvision_state_dict(state).state_dict
    assert 'backbone.layer4.1.bn2.running_var' in converted
    assert 'head.fc.weight' in converted


def test_published_densenet_key_names_are_understood():
    """torchvision's densenet121-a639ec97.pth spells ``denselayer1.norm.1``, not ``norm1``."""
    state = random_torchvision_model('densenet121').state_dict()
    legacy = {
        re.sub(r'(denselayer\d+\.(?:norm|conv))([12])\.', r'\1.\2.', key): value
        for key, value in state.items()
    }
    assert 'features.denseblock1.denselayer1.norm.1.weight' in legacy
    conversion = convert_torchvision_state_dict(legacy)
    from_legacy = conversion.state_dict
    from_modern = convert_torchvision_state_dict(state).state_dict
    assert conversion.arch == 'densenet121'
    assert from_legacy.keys() == from_modern.keys()
    assert all(from_legacy[key] is from_modern[key] for key in from_modern)


@pytest.mark.parametrize('arch', ['vgg16_bn', 'densenet121'])
def test_files_without_batch_norm_counters_convert_completely(arch):
    """Files saved before PyTorch 0.4.1 (vgg16_bn-6c64b313.pth, ...) have no num_batches_tracked."""
    state = meta_state_dict(arch)
    old_state = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    assert len(old_state) < len(state)
    assert detect_torchvision_arch(old_state) == arch
    converted = convert_torchvision_state_dict(old_state).state_dict
    reference = convert_torchvision_state_dict(state).state_dict
    assert converted.keys() == reference.keys()
    counters = [k for k in converted if k.endswith('num_batches_tracked')]
    assert counters and all(converted[k].item() == 0 for k in counters)


@pytest.mark.parametrize(
    'model, message',
    [
        (
            lambda: unpublished_resnet(),
            'a ResNet with (1, 1, 1, 1) bottleneck blocks per stage: mmpretrain builds depths 18, '
            '34, 50, 101, 152',
        ),
        (
            lambda: torchvision.models.mobilenet_v2(width_mult=1.4),
            "a MobileNet-v2 of another width or depth (stem 48 channels, 17 blocks): mmtl's "
            '_base_/models/mobilenet_v2_1x.py is width 1.0 with 17 blocks',
        ),
        (
            lambda: torchvision.models.vgg.VGG(torchvision.models.vgg.make_layers([64, 'M'] * 3)),
            'a VGG with 3 convs: mmpretrain builds VGG-11/13/16/19',
        ),
    ],
)
def test_a_recognised_family_of_another_depth_or_width_is_refused_in_one_line(model, message):
    with pytest.raises(ValueError) as info:
        convert_torchvision_state_dict(model().state_dict())
    assert str(info.value) == message


def test_unrecognised_checkpoint_names_the_families_and_its_keys():
    with pytest.raises(
        ValueError,
        match=r'not a torchvision checkpoint of a family mmtl converts \(resnet, mobilenet_v2, '
        r'vgg, densenet, mobilenet_v3, convnext, swin, vit\); its first keys are: features\.0\.',
    ):
        convert_torchvision_state_dict(meta_state_dict('squeezenet1_1'))


# --------------------------------------------------------------------------------------------
# load_from a torchvision file, and the converter tool
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def torchvision_resnet18(tmp_path_factory):
    """A torchvision-format resnet18 checkpoint file and the model it came from."""
    model = random_torchvision_model('resnet18', seed=5)
    path = str(tmp_path_factory.mktemp('tv') / 'resnet18-random.pth')
    torch.save(model.state_dict(), path)
    return path, model


def test_mmengine_load_checkpoint_converts_torchvision_file(torchvision_resnet18):
    path, tv_model = torchvision_resnet18
    mm_model = build_mmtl_model('_base_/models/resnet18.py')
    checkpoint = load_checkpoint(mm_model, path, strict=True)
    assert checkpoint['meta']['converted_from'] == 'torchvision'
    assert checkpoint['meta']['arch'] == 'resnet18'
    mm_model.eval()
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), tv_model(inputs), atol=1e-5, rtol=0
        )


def test_legacy_serialization_format_loads_safely_and_converts(torchvision_resnet18, tmp_path):
    """Files saved before torch 1.6 use the legacy (non-zip) format; weights_only reads it."""
    _, tv_model = torchvision_resnet18
    path = str(tmp_path / 'resnet18-legacy.pth')
    torch.save(tv_model.state_dict(), path, _use_new_zipfile_serialization=False)
    checkpoint = read_weights(path)
    assert checkpoint['meta']['arch'] == 'resnet18'
    weight = checkpoint['state_dict']['backbone.layer3.0.downsample.1.running_var']
    assert torch.equal(weight, tv_model.layer3[0].downsample[1].running_var)


def test_loader_leaves_mmengine_checkpoints_alone(tmp_path):
    state = {'backbone.conv1.weight': torch.ones(2, 3, 1, 1)}
    path = str(tmp_path / 'mm.pth')
    torch.save({'state_dict': state, 'meta': {'epoch': 3}}, path)
    loaded = read_weights(path)
    assert loaded['meta'] == {'epoch': 3}
    assert list(loaded['state_dict']) == ['backbone.conv1.weight']
    assert torchvision_checkpoint_converter(state, {}, 'x.pth') is None


def unpublished_resnet() -> torch.nn.Module:
    """A torchvision ResNet of no published depth: one bottleneck per stage."""
    resnet = torchvision.models.resnet
    return resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1])


def test_loader_warns_about_unsupported_torchvision_file(tmp_path):
    model = unpublished_resnet()
    path = str(tmp_path / 'resnet-1111.pth')
    torch.save(model.state_dict(), path)
    logger = MMLogger.get_instance('unsupported_torchvision', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    loaded = read_weights(path)
    assert loaded.keys() == model.state_dict().keys()  # unconverted
    with open(tmp_path / 'log.txt') as f:
        log = f.read()
    assert (
        f'WARNING - {path} is a torchvision checkpoint mmtl does not convert: a ResNet with '
        '(1, 1, 1, 1) bottleneck blocks per stage: mmpretrain builds depths 18, 34, 50, 101, 152; '
        'it is loaded unconverted'
    ) in log


def test_converter_tool_writes_loadable_checkpoint(torchvision_resnet18, tmp_path, capsys):
    sys.path.insert(0, osp.dirname(CONVERTER_TOOL))
    try:
        import torchvision2mmtl
    finally:
        sys.path.pop(0)
    src, tv_model = torchvision_resnet18
    dst = str(tmp_path / 'out' / 'resnet18_mmtl.pth')
    assert torchvision2mmtl.main([src, dst]) == 0
    out = capsys.readouterr().out
    assert f'converted torchvision resnet18 (122 tensors) from {src}' in out
    assert f'wrote {dst} (its model: configs/_base_/models/resnet18.py)' in out
    assert os.listdir(osp.dirname(dst)) == ['resnet18_mmtl.pth']  # no temporary file left

    checkpoint = safe_torch_load(dst)
    assert checkpoint['meta'] == {
        'converted_from': 'torchvision',
        'arch': 'resnet18',
        'base_config': '_base_/models/resnet18.py',
        'source': src,
    }
    mm_model = build_mmtl_model('_base_/models/resnet18.py')
    mm_model.load_state_dict(checkpoint['state_dict'], strict=True)
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            mm_model(inputs, mode='tensor'), tv_model(inputs), atol=1e-5, rtol=0
        )

    # A file of a family built otherwise: one clear line naming what to use, nothing written.
    bad_src, bad_dst = str(tmp_path / 'regnet.pth'), str(tmp_path / 'bad.pth')
    torch.save(torchvision.models.regnet_x_400mf(weights=None).state_dict(), bad_src)
    assert tool_status(torchvision2mmtl.main, [bad_src, bad_dst]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad_src}: torchvision's RegNet is not the pycls layout")
    assert err.count('\n') == 1 and 'regnetx_400mf.py' in err
    assert not osp.exists(bad_dst)

    # A ViT of a size with no base config: the tool names the model dict that takes the weights.
    vit = torchvision.models.VisionTransformer(64, 32, 2, 2, hidden_dim=128, mlp_dim=256)
    vit_src, vit_dst = str(tmp_path / 'vit.pth'), str(tmp_path / 'vit_mmtl.pth')
    torch.save(vit.state_dict(), vit_src)
    assert torchvision2mmtl.main([vit_src, vit_dst]) == 0
    out = capsys.readouterr().out
    assert "(its model: model = {'type': 'ImageClassifier', 'backbone': {'type': " in out
    meta = safe_torch_load(vit_dst)['meta']
    assert meta['arch'] == 'vit_128_p32_64' and 'base_config' not in meta
    arch = dict(embed_dims=128, num_layers=2, feedforward_channels=256, num_heads=2)
    assert meta['model']['backbone'] == dict(
        type='VisionTransformer', arch=arch, img_size=64, patch_size=32
    )


@pytest.mark.slow
def test_mim_run_converter_then_train_from_torchvision_file(tmp_path, digits_root):
    """``tools/train.py`` with ``load_from`` = a torchvision file, and ``mim run`` the tool."""
    tv_model = random_torchvision_model('mobilenet_v2', seed=3)
    tv_path = str(tmp_path / 'mobilenet_v2-random.pth')
    torch.save(tv_model.state_dict(), tv_path)

    # One thread: on a busy 2-core machine two contending threads are many times slower.
    env = tool_env(str(tmp_path), OMP_NUM_THREADS='1')
    converted = str(tmp_path / 'mobilenet_v2_mmtl.pth')
    tool = run_command(
        ['mim', 'run', 'mmtl', 'torchvision2mmtl', tv_path, converted], str(tmp_path), env
    )
    assert tool.returncode == 0, describe(tool)
    assert f'wrote {converted}' in tool.stdout
    assert safe_torch_load(converted)['meta']['arch'] == 'mobilenet_v2'

    config = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    train = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', 'wd']
        + ['--no-validate', '--cfg-options', f'load_from={tv_path}', f'data_root={digits_root}']
        + ['model.head.num_classes=3', 'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8']
        + ['train_dataloader.dataset.indices=16', *NO_WORKERS],  # 2 iterations
        str(tmp_path),
        env,
    )
    assert train.returncode == 0, describe(train)
    # The quiet console keeps the header; the work dir's log file has every line.
    log_file = glob.glob(str(tmp_path / 'wd' / '*' / '*.log'))[0]
    with open(log_file) as f:
        log = f.read()
    assert f'{tv_path} is a torchvision mobilenet_v2 checkpoint: converted its 314 tensors' in log
    summary = next(line for line in log.splitlines() if 'checkpoint weights:' in line)
    # All but the 1000-class head, which the 3-class model keeps at its initial values.
    assert '312 tensors loaded' in summary
    assert '2 skipped, shape differs' in summary
    assert 'head.fc.weight (1000, 1280) -> (3, 1280)' in summary
    assert 'missing' not in summary and 'unexpected' not in summary
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')
