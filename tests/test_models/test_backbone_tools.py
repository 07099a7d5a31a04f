"""Grad-CAM, block order and the advisor's stage probe work on transformer and CNN families."""

import pytest
import torch
from mmengine.registry import init_default_scope

from mmtl.advisor.probe import backbone_stages
from mmtl.analysis.feature_hooks import block_groups, capture_features, pooled, token_grid
from mmtl.analysis.gradcam import class_activation_map, default_target_layer
from mmtl.registry import MODELS

init_default_scope('mmtl')

#: Small members built as mmpretrain builds the published ones (same modules, fewer channels).
BACKBONES = {
    'vit': (
        dict(
            type='VisionTransformer',
            arch=dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64),
            img_size=64,
            patch_size=16,
        ),
        32,
        None,
    ),
    'swin': (
        dict(
            type='SwinTransformer',
            arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
            img_size=64,
            window_size=2,
        ),
        128,
        dict(type='GlobalAveragePooling'),
    ),
    'convnext': (dict(type='ConvNeXt', arch='atto'), 320, None),
}


def classifier(kind: str) -> torch.nn.Module:
    backbone, channels, neck = BACKBONES[kind]
    return MODELS.build(
        dict(
            type='TransferClassifier',
            backbone=backbone,
            neck=neck,
            head=dict(type='LinearClsHead', num_classes=3, in_channels=channels),
        )
    ).eval()


def test_token_grid_drops_the_class_token():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float).reshape(2, 5, 3)
    grid = token_grid(tokens)
    assert grid.shape == (2, 3, 2, 2)
    assert torch.equal(grid[:, :, 0, 0], tokens[:, 1, :])


def test_vit_grad_cam_targets_the_block_before_the_class_token_is_read():
    model = classifier('vit')
    inputs = torch.randn(1, 3, 64, 64)
    layer = default_target_layer(model, inputs, min_side=2)
    assert layer == 'backbone.layers.1'
    cam, _, scores = class_activation_map(model, inputs, layer)
    assert cam.shape == (64, 64) and scores.shape == (3,)
    assert cam.max() == 1.0  # the patch tokens got gradient through attention


@pytest.mark.parametrize('kind', ['swin', 'convnext'])
def test_hierarchical_families_have_a_map_for_grad_cam(kind):
    model = classifier(kind)
    inputs = torch.randn(1, 3, 64, 64)
    layer = default_target_layer(model, inputs, min_side=2)
    cam, _, _ = class_activation_map(model, inputs, layer)
    assert cam.shape == (64, 64) and float(cam.max()) == 1.0


def test_convnext_blocks_come_in_execution_order():
    """ConvNeXt registers its downsampling layers before its stages; they run interleaved."""
    model = classifier('convnext')
    stages = backbone_stages(model)
    assert stages[:4] == [
        'backbone.downsample_layers.0',
        'backbone.stages.0',
        'backbone.downsample_layers.1',
        'backbone.stages.1',
    ]
    assert sum(block_groups(model), []).count('backbone.norm3') == 1


def test_vit_probe_sees_every_block_and_pools_tokens():
    model = classifier('vit')
    stages = backbone_stages(model)
    assert stages == ['backbone.patch_embed'] + [f'backbone.layers.{i}' for i in range(3)]
    with capture_features(model, stages) as outputs, torch.no_grad():
        model(torch.randn(2, 3, 64, 64))
    assert all(pooled(outputs[name]).shape == (2, 32) for name in stages)


def test_convnext_config_has_no_second_pooling_and_model_summary_counts_it():
    """ConvNeXt pools itself; a pooling neck after it failed "Input dimension should be at
    least 3" in model_summary."""
    import os.path as osp

    from mmengine.config import Config
    from mmtl_testing import REPO_ROOT

    from mmtl.analysis import model_summary as ms

    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'convnext_v2_atto.py'))
    assert cfg.model.neck is None
    model = MODELS.build(cfg.model)
    assert ms.count_flops(model, (3, 64, 64)) > 0


@pytest.mark.parametrize(
    'backbone, refused',
    [
        (dict(type='ConvNeXt', arch='atto'), True),
        (BACKBONES['vit'][0], True),  # class token
        ({**BACKBONES['vit'][0], 'out_type': 'avg_featmap'}, True),
        ({**BACKBONES['vit'][0], 'out_type': 'featmap'}, False),  # a patch map: pooled by the neck
        (dict(type='MobileNetV2'), False),
    ],
)
def test_a_pooling_neck_after_a_backbone_that_pools_is_refused_at_build(backbone, refused):
    """A user's config swapping ConvNeXt into a base config that pools (resnet50.py)."""
    import os.path as osp

    from mmengine.config import Config
    from mmtl_testing import REPO_ROOT

    from mmtl.utils.errors import ConfigError

    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'resnet50.py'))
    cfg.model.backbone = backbone
    if not refused:
        assert MODELS.build(cfg.model).with_neck
        return
    name = backbone['type']
    message = rf'^model.neck: GlobalAveragePooling pools the output of {name},.*model.neck=None$'
    with pytest.raises(ConfigError, match=message):
        MODELS.build(cfg.model)
    cfg.model.neck = None
    assert not MODELS.build(cfg.model).with_neck


def test_pytorch_grad_cam_reads_the_tensor_of_a_swin_stage():
    """A Swin stage returns (tokens, grid size): pytorch-grad-cam got no gradient from it."""
    model = classifier('swin')
    inputs = torch.randn(1, 3, 64, 64)
    cam, _, _ = class_activation_map(model, inputs, 'backbone.stages.1')
    assert cam.shape == (64, 64) and float(cam.max()) == pytest.approx(1.0)
