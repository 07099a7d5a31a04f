"""ONNX export with parity for the families that pad or interpolate by the input size.

Each base config is built as published except for fewer, narrower blocks (random weights), so
that its padding (EfficientNet's TF 'same' padding, PatchEmbed), position-embedding
interpolation and window attention are the ones the published model traces.
"""

import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmtl_testing import REPO_ROOT

from mmtl.deployment import ExportableClassifier, OnnxClassifier, export_module
from mmtl.deployment.export import PARITY_BATCH, measure_parity, random_batch
from mmtl.deployment.exporters import build_exporter
from mmtl.registry import MODELS

init_default_scope('mmtl')

SMALL_VIT = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)

#: base config -> (backbone overrides, head in_channels, input size)
FAMILIES = {
    'deit3_small_p16.py': (dict(arch=SMALL_VIT), 32, 32),
    'vit_small_p14_dinov2.py': (dict(arch=SMALL_VIT), 32, 28),
    'vit_base_p16_clip.py': (dict(arch=SMALL_VIT), 32, 32),
    'swin_tiny.py': (
        dict(arch=dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 1, 1])),
        128,
        224,
    ),
    'efficientnet_b0.py': (dict(), 1280, 32),
    'efficientnetv2_b0.py': (dict(), 1280, 32),
}


@pytest.mark.parametrize('config', sorted(FAMILIES))
def test_family_exports_to_onnx_with_parity(config, tmp_path):
    overrides, channels, size = FAMILIES[config]
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models', config)).model
    cfg.backbone.update(overrides)
    cfg.head.update(num_classes=3, in_channels=channels)
    torch.manual_seed(0)
    module = ExportableClassifier(MODELS.build(cfg)).eval()

    path = str(tmp_path / 'model.onnx')
    fixed_by = export_module(module, torch.randn(2, 3, size, size), path, 'onnx')
    # padding or position-embedding grids computed from the input size, fixed at this size
    assert fixed_by
    check = random_batch(PARITY_BATCH, (size, size), 'float32', False, seed=1)
    parity = measure_parity(module, build_exporter('onnx').load(path), check)
    assert parity['within_tolerance'] and parity['same_top1'], parity

    # the runtime refuses another input size in one line
    meta = dict(format='onnx', model_file='model.onnx', preprocess=[])
    meta['input'] = dict(shape=['batch', 3, size, size])
    with open(tmp_path / 'deploy.json', 'w') as f:
        json.dump(meta, f)
    classifier = OnnxClassifier(str(tmp_path))
    assert classifier.forward(check.numpy())['logits'].shape == (PARITY_BATCH, 3)
    wrong = torch.zeros(1, 3, size + 14, size + 14).numpy()
    with pytest.raises(ValueError, match=rf'exported for N x 3 x {size} x {size} inputs, got 1 x'):
        classifier.forward(wrong)
