"""One rule orders the blocks of every backbone family: layer-wise lr decay per block."""

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmtl.models.backbone_layout import backbone_blocks, parameter_depths
from mmtl.registry import MODELS

init_default_scope('mmtl')

#: A ViT as mmpretrain builds it, 4 blocks of width 32 (same modules as ViT-S/B, smaller).
TINY_VIT = dict(
    type='VisionTransformer',
    arch=dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64),
    img_size=32,
    patch_size=8,
)


def classifier(backbone: dict, in_channels: int, neck=None) -> torch.nn.Module:
    return MODELS.build(
        dict(
            type='TransferClassifier',
            backbone=backbone,
            neck=neck,
            head=dict(type='LinearClsHead', num_classes=3, in_channels=in_channels),
        )
    )


def decayed_lrs(model, rate=0.5, lr=1.0):
    optim = build_optim_wrapper(
        model,
        dict(
            constructor='TransferOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=lr),
            paramwise_cfg=dict(layer_decay_rate=rate),
        ),
    )
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g['lr'] for g in optim.optimizer.param_groups}


def test_vit_blocks_decay_one_by_one_through_get_layer_depth():
    model = classifier(TINY_VIT, 32)
    lrs = decayed_lrs(model)
    # 4 blocks: embeddings at depth 0, block i at i + 1, final norm and head at the top (5).
    assert lrs['backbone.cls_token'] == lrs['backbone.pos_embed'] == pytest.approx(0.5**5)
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(0.5**5)
    for i in range(4):
        assert lrs[f'backbone.layers.{i}.ffn.layers.1.weight'] == pytest.approx(0.5 ** (4 - i))
    assert lrs['backbone.ln1.weight'] == lrs['head.fc.weight'] == 1.0


def test_blocks_in_a_module_list_are_numbered_one_by_one():
    """EfficientNet keeps stem, stages and last conv in one ModuleList, without get_layer_depth."""
    model = classifier(
        dict(type='EfficientNet', arch='b0'), 1280, dict(type='GlobalAveragePooling')
    )
    names = [name for name, _ in backbone_blocks(model.backbone)]
    assert names == [f'layers.{i}' for i in range(7)]
    depths, levels = parameter_depths(model)
    assert levels == 8
    assert {depths[n] for n in depths if n.startswith('backbone.layers.3.')} == {3}
    lrs = decayed_lrs(model)
    assert lrs['backbone.layers.0.conv.weight'] == pytest.approx(0.5**7)
    assert lrs['backbone.layers.6.conv.weight'] == pytest.approx(0.5)


def test_convnext_stages_interleave_with_their_downsampling():
    """ConvNeXt's own get_layer_depth: downsample i and stage i share a level (stage 2 split)."""
    model = classifier(dict(type='ConvNeXt', arch='atto'), 320)
    depths, levels = parameter_depths(model)
    assert depths['backbone.downsample_layers.0.0.weight'] == 0
    assert depths['backbone.stages.1.0.depthwise_conv.weight'] == 2
    assert depths['backbone.norm3.weight'] == levels - 1
