"""Family rules for the modern families: MobileNet-v3, ConvNeXt, Swin, ViT / DeiT-III.

torchvision's and timm's models are built with random weights (random norms, layer scales and
BN statistics), saved as a user saves them (``torch.save(model.state_dict())``, or timm's
``.safetensors``), read through mmtl's one load path (``read_weights``) and loaded into the model
the conversion names; the logits must be the same. The depths with no parity run in the default
suite are checked by what the rule derives from their keys and shapes.
"""

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.models import DeiT3
from mmtl_testing import REPO_ROOT
from mmtl_testing.models import randomize_vectors

from mmtl.engine.loading import read_weights
from mmtl.models.converters import convert_timm_state_dict, convert_torchvision_state_dict
from mmtl.registry import MODELS
from mmtl.utils.safetensors_io import save_safetensors

timm = pytest.importorskip('timm')


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small forward passes run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def source_model(library: str, name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    if library == 'torchvision':
        model = getattr(torchvision.models, name)(weights=None, **kwargs)
    else:
        model = timm.create_model(name, pretrained=False, **kwargs)
    return randomize_vectors(model, 1)


def meta_state_dict(library: str, name: str) -> dict:
    """The model's keys and shapes without data (cheap)."""
    with torch.device('meta'):
        if library == 'torchvision':
            return getattr(torchvision.models, name)(weights=None).state_dict()
        return timm.create_model(name, pretrained=False).state_dict()


def convert(library: str, state: dict):
    if library == 'torchvision':
        return convert_torchvision_state_dict(state)
    return convert_timm_state_dict(state)


def mmtl_model(meta: dict) -> torch.nn.Module:
    """The model a converted checkpoint names: its base config's, or its model dict."""
    if 'base_config' in meta:
        cfg = Config.fromfile(f'{REPO_ROOT}/configs/{meta["base_config"]}').model
    else:
        cfg = meta['model']
    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(cfg).eval()


def check_parity(library, name, size, tmp_path, suffix='.pth', **kwargs):
    model = source_model(library, name, **kwargs)
    path = str(tmp_path / f'{name}{suffix}')
    if suffix == '.pth':
        torch.save(model.state_dict(), path)
    else:
        save_safetensors(model.state_dict(), path)
    checkpoint = read_weights(path)
    meta = checkpoint['meta']
    assert meta['converted_from'] == library
    assert meta['source'] == path
    mm_model = mmtl_model(meta)
    result = mm_model.load_state_dict(checkpoint['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(inputs)
        logits = mm_model(inputs, mode='tensor')
    assert expected.std() > 1e-2  # not a degenerate output
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)
    return meta


# --------------------------------------------------------------------------------------------
# Logits parity: one member per family and library in the default suite, the others slow
# --------------------------------------------------------------------------------------------

PARITY = [
    ('torchvision', 'mobilenet_v3_small', 64),
    ('timm', 'mobilenetv3_large_100', 64),
    ('torchvision', 'convnext_tiny', 64),
    ('timm', 'convnext_atto', 64),
    ('torchvision', 'swin_t', 224),
    ('timm', 'swin_tiny_patch4_window7_224', 224),
    ('torchvision', 'vit_b_32', 224),
    ('timm', 'vit_tiny_patch16_224', 224),
    ('timm', 'deit3_small_patch16_224', 224),
]
SLOW_PARITY = [
    ('torchvision', 'mobilenet_v3_large', 64),
    ('timm', 'mobilenetv3_small_100', 64),
    ('torchvision', 'convnext_small', 64),
    ('timm', 'convnext_small', 64),
    ('torchvision', 'swin_s', 224),
    ('timm', 'swin_small_patch4_window7_224', 224),
    ('torchvision', 'vit_b_16', 224),
    ('timm', 'vit_base_patch32_224', 224),
    ('timm', 'deit3_base_patch16_224', 224),
]


@pytest.mark.parametrize('library, name, size', PARITY)
def test_converted_weights_give_the_same_logits(library, name, size, tmp_path):
    check_parity(library, name, size, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize('library, name, size', SLOW_PARITY)
def test_converted_weights_give_the_same_logits_other_depths(library, name, size, tmp_path):
    check_parity(library, name, size, tmp_path)


def test_timm_safetensors_with_other_class_count(tmp_path):
    """timm ships .safetensors; a fine-tuned model has another head: the model dict says so."""
    meta = check_parity('timm', 'convnext_atto', 64, tmp_path, '.safetensors', num_classes=7)
    assert meta['model']['head']['num_classes'] == 7


def test_the_log_names_the_model_to_build(tmp_path):
    model = source_model('torchvision', 'mobilenet_v3_small')
    path = str(tmp_path / 'mnv3.pth')
    torch.save(model.state_dict(), path)
    logger = MMLogger.get_instance('families_log', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    read_weights(path)
    log = (tmp_path / 'log.txt').read_text()
    assert (
        f'{path} is a torchvision mobilenet_v3_small checkpoint: converted its 244 tensors to '
        "the layout of mmpretrain's model (as in configs/_base_/models/mobilenet_v3_small.py)"
    ) in log


# --------------------------------------------------------------------------------------------
# Depth and width from keys and shapes, for every published size (no forward)
# --------------------------------------------------------------------------------------------

#: (library, model, derived label, base config or the backbone's derived settings).
DERIVED = [
    ('torchvision', 'mobilenet_v3_large', 'mobilenet_v3_large', 'mobilenet_v3_large.py'),
    ('torchvision', 'convnext_small', 'convnext_small', 'convnext_small.py'),
    ('torchvision', 'convnext_base', 'convnext_base', dict(arch='base')),
    ('torchvision', 'convnext_large', 'convnext_large', dict(arch='large')),
    ('torchvision', 'swin_s', 'swin_small', dict(arch='s', window_size=7)),
    ('torchvision', 'swin_b', 'swin_base', dict(arch='b', window_size=7)),
    ('torchvision', 'vit_b_16', 'vit_base_p16', dict(arch='b', patch_size=16, img_size=224)),
    ('torchvision', 'vit_l_16', 'vit_large_p16', dict(arch='l', patch_size=16, img_size=224)),
    ('torchvision', 'vit_l_32', 'vit_large_p32', dict(arch='l', patch_size=32, img_size=224)),
    ('torchvision', 'vit_h_14', 'vit_huge_p14', dict(arch='h', patch_size=14, img_size=224)),
    ('timm', 'mobilenetv3_small_100', 'mobilenet_v3_small', dict(arch='small')),
    ('timm', 'convnext_nano', 'convnext_nano_conv_mlp', dict(arch='nano', linear_pw_conv=False)),
    ('timm', 'convnext_base', 'convnext_base', dict(arch='base')),
    ('timm', 'convnext_large', 'convnext_large', dict(arch='large')),
    ('timm', 'swin_base_patch4_window12_384', 'swin_base_window12', dict(window_size=12)),
    ('timm', 'swin_large_patch4_window7_224', 'swin_large', dict(arch='l', img_size=224)),
    ('timm', 'vit_small_patch16_224', 'vit_384_p16', dict(arch='deit-s', patch_size=16)),
    ('timm', 'vit_base_patch16_384', 'vit_base_p16_384', dict(arch='b', img_size=384)),
    ('timm', 'vit_large_patch16_224', 'vit_large_p16', dict(arch='l')),
    ('timm', 'deit3_base_patch16_224', 'deit3_base_p16', 'deit3_base_p16.py'),
    ('timm', 'deit3_medium_patch16_224', 'deit3_medium_p16', dict(type='DeiT3WithMlpNorm')),
    ('timm', 'deit3_large_patch16_224', 'deit3_large_p16', dict(arch='l')),
]


@pytest.mark.parametrize('library, name, label, expected', DERIVED)
def test_each_size_is_derived_from_its_shapes(library, name, label, expected):
    conversion = convert(library, meta_state_dict(library, name))
    assert conversion.arch == label
    if isinstance(expected, str):
        assert conversion.base_config == f'_base_/models/{expected}'
    else:
        assert conversion.base_config is None
        assert conversion.model['backbone'].items() >= expected.items()


def test_deit3_medium_gets_heads_of_64_channels():
    """DeiT-III's 512-wide size has 64-wide heads: mmpretrain's DeiT3 table names it."""
    conversion = convert('timm', meta_state_dict('timm', 'deit3_medium_patch16_224'))
    assert conversion.model['backbone']['arch'] == 'm'
    assert DeiT3.arch_zoo['m'] == dict(
        embed_dims=512, num_layers=12, feedforward_channels=2048, num_heads=8
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    'library, name',
    [
        ('torchvision', 'convnext_large'),
        ('torchvision', 'swin_b'),
        ('torchvision', 'vit_l_16'),
        ('timm', 'swin_base_patch4_window12_384'),
        ('timm', 'deit3_large_patch16_224'),
    ],
)
def test_large_sizes_fill_their_model_exactly(library, name):
    """Keys and shapes of the converted weights are those of the model the rule names."""
    conversion = convert(library, meta_state_dict(library, name))
    meta = {'model': conversion.model}
    expected = {k: v.shape for k, v in mmtl_model(meta).state_dict().items()}
    assert {k: v.shape for k, v in conversion.state_dict.items()} == expected


# --------------------------------------------------------------------------------------------
# Families built otherwise than mmpretrain's: one line naming the weights to use
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'library, name, use',
    [
        ('torchvision', 'efficientnet_b0', '_base_/models/efficientnet_b0.py'),
        ('torchvision', 'efficientnet_v2_s', 'efficientnetv2_b0.py/_s.py'),
        ('torchvision', 'regnet_x_400mf', '_base_/models/regnetx_400mf.py'),
        ('torchvision', 'regnet_y_400mf', '_base_/models/regnetx_400mf.py'),
        ('torchvision', 'swin_v2_t', '_base_/models/swin_tiny.py'),
        ('timm', 'efficientnet_b0', '_base_/models/efficientnet_b0.py'),
        ('timm', 'regnetx_002', '_base_/models/regnetx_400mf.py'),
        ('timm', 'convnextv2_atto', '_base_/models/convnext_v2_atto.py'),
    ],
)
def test_other_structures_are_refused_naming_the_weights_to_use(library, name, use):
    if name.startswith('regnet') and library == 'torchvision':
        state = getattr(torchvision.models, name)(weights=None).state_dict()  # not on meta
    else:
        state = meta_state_dict(library, name)
    with pytest.raises(ValueError) as info:
        convert(library, state)
    message = str(info.value)
    assert '\n' not in message
    assert use in message and 'load_from' in message


def test_a_refused_file_is_loaded_unconverted_with_one_warning(tmp_path):
    model = torchvision.models.efficientnet_b0(weights=None)
    path = str(tmp_path / 'efficientnet_b0.pth')
    torch.save(model.state_dict(), path)
    logger = MMLogger.get_instance('families_refused', log_file=str(tmp_path / 'log.txt'))
    assert MMLogger.get_current_instance() is logger
    checkpoint = read_weights(path)
    assert checkpoint.keys() == model.state_dict().keys()
    warnings = [
        line for line in (tmp_path / 'log.txt').read_text().splitlines() if 'WARNING' in line
    ]
    assert len(warnings) == 1
    assert (
        f"{path} is a torchvision checkpoint mmtl does not convert: torchvision's " in warnings[0]
    )
    assert 'efficientnet_b0.py' in warnings[0]


def test_a_timm_clip_vit_is_refused_naming_the_weights_to_use():
    """Its activation (GELU or QuickGELU) is not in its weights."""
    state = meta_state_dict('timm', 'vit_base_patch16_clip_224')
    with pytest.raises(ValueError, match=r'a timm CLIP ViT .*vit_base_p16_clip\.py'):
        convert('timm', state)


def test_a_layer_mmpretrain_lacks_is_named():
    state = {**meta_state_dict('timm', 'vit_tiny_patch16_224'), 'dist_token': torch.empty(1)}
    with pytest.raises(ValueError, match=r'timm ViT checkpoint with a layer .* lacks: dist_token'):
        convert('timm', state)


@pytest.mark.slow
def test_a_backbone_saved_without_classifier_dinov2(tmp_path):
    """timm's DINOv2 ViT-S/14 (layer scale, 518 px, no head): the same image features."""
    model = source_model('timm', 'vit_small_patch14_dinov2')
    path = str(tmp_path / 'dinov2.safetensors')
    save_safetensors(model.state_dict(), path)
    checkpoint = read_weights(path)
    backbone = checkpoint['meta']['model']['backbone']
    assert backbone == dict(
        type='VisionTransformer',
        arch='deit-s',
        img_size=518,
        patch_size=14,
        layer_scale_init_value=1e-5,
    )
    mm_model = mmtl_model(checkpoint['meta'])
    result = mm_model.load_state_dict(checkpoint['state_dict'], strict=False)
    assert result.missing_keys == ['head.layers.head.weight', 'head.layers.head.bias']
    assert not result.unexpected_keys
    inputs = torch.randn(1, 3, 518, 518, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(mm_model.backbone(inputs)[0], model(inputs), atol=1e-5, rtol=0)
