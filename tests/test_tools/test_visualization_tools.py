"""Looking inside a model: forward-hook capture, Grad-CAM, feature maps and t-SNE tools."""

import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT, import_tool, tool_status
from torch import nn

from mmtl.analysis.feature_hooks import UnknownLayerError, capture_features
from mmtl.analysis.gradcam import class_activation_map, default_target_layer

DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'

# Model forward/backward passes run in this process: keep them on one thread.
pytestmark = pytest.mark.usefixtures('one_thread')


def digits_options(data_root: str) -> list:
    return ['--cfg-options', f'data_root={data_root}', 'model.head.num_classes=3']


@pytest.fixture(scope='module')
def digits_checkpoint(tmp_path_factory, digits_root):
    """A randomly initialised 3-class digits model saved as a checkpoint with class names."""
    from mmtl.apis import init_model
    from mmtl.config.load import load_config

    cfg = load_config(DIGITS_CONFIG, {'model.head.num_classes': 3, 'data_root': digits_root})
    torch.manual_seed(0)
    model = init_model(cfg)
    path = str(tmp_path_factory.mktemp('ckpt') / 'digits.pth')
    meta = {'dataset_meta': {'classes': ['0', '1', '2']}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def tiny_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1)
    )


def test_captured_features_equal_a_manual_forward_and_hooks_are_removed():
    model = tiny_cnn().eval()
    inputs = torch.randn(2, 3, 8, 8)
    with capture_features(model, ['0', '2']) as feats:
        model(inputs)
        assert model[0]._forward_hooks and model[2]._forward_hooks
    with torch.no_grad():
        first = model[0](inputs)
        last = model[2](model[1](first))
    assert torch.equal(feats['0'], first) and torch.equal(feats['2'], last)
    assert feats['2'].shape == (2, 6, 4, 4)
    assert not feats['0'].requires_grad
    assert all(not m._forward_hooks for m in model.modules())


def test_hooks_are_removed_when_the_block_raises():
    model = tiny_cnn()
    with pytest.raises(RuntimeError, match='boom'):
        with capture_features(model, ['0']):
            raise RuntimeError('boom')
    assert all(not m._forward_hooks for m in model.modules())


def test_unknown_layer_names_the_closest_ones():
    model = nn.Sequential()
    model.add_module('backbone', nn.Sequential())
    model.backbone.add_module('layer1', nn.Conv2d(1, 1, 1))
    model.backbone.add_module('layer2', nn.Conv2d(1, 1, 1))
    with pytest.raises(UnknownLayerError, match=r"'backbone\.layr1'.*backbone\.layer1"):
        with capture_features(model, ['backbone.layr1']):
            pass
    assert all(not m._forward_hooks for m in model.modules())


class RegionClassifier(nn.Module):
    """Class 0 = red evidence, class 1 = green evidence, anywhere in the image."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0  # channel 0 sees red
            self.conv.weight[1, 1] = 1.0  # channel 1 sees green
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x))).flatten(1)


def test_grad_cam_peaks_where_the_class_evidence_is():
    image = torch.zeros(1, 3, 32, 32)
    image[0, 0, 2:10, 2:10] = 1.0  # red square, top-left
    image[0, 1, 20:30, 18:28] = 1.0  # green square, bottom-right
    model = RegionClassifier()
    for class_index, (rows, cols) in {
        0: (slice(2, 10), slice(2, 10)),
        1: (slice(20, 30), slice(18, 28)),
    }.items():
        cam, explained, scores = class_activation_map(model, image, 'conv', class_index)
        assert explained == class_index
        assert cam.shape == (32, 32) and float(cam.max()) == pytest.approx(1.0)
        peak = np.unravel_index(int(cam.argmax()), cam.shape)
        assert rows.start <= peak[0] < rows.stop and cols.start <= peak[1] < cols.stop
        inside = cam[rows, cols].mean()
        outside = (cam.sum() - cam[rows, cols].sum()) / (32 * 32 - cam[rows, cols].numel())
        assert inside > 5 * outside
    # Without a class, the predicted one (more green pixels -> class 1) is explained.
    assert class_activation_map(model, image, 'conv')[1] == 1
    with pytest.raises(UnknownLayerError, match=r"'cnv'.*conv"):
        class_activation_map(model, image, 'cnv')
    assert all(not m._forward_hooks for m in model.modules())


def test_grad_cam_default_layer_keeps_a_spatial_map():
    from mmtl.apis import init_model

    model = init_model(DIGITS_CONFIG)
    # 32 px, strides 2,1,2,2,2,1,2,1: layer3 is the last stage at 4x4 (layer4-5 are 2x2).
    assert default_target_layer(model, torch.zeros(1, 3, 32, 32)) == 'backbone.layer3'
    assert default_target_layer(model, torch.zeros(1, 3, 224, 224)) == 'backbone.conv2'


def png_size(path: str) -> tuple:
    image = cv2.imread(path)
    assert image is not None, f'{path} does not decode as an image'
    return image.shape[1], image.shape[0]


def test_vis_feature_maps_writes_one_grid_per_layer(
    tmp_path, capsys, digits_root, digits_checkpoint
):
    image = osp.join(
        digits_root, 'test', '1', sorted(os.listdir(osp.join(digits_root, 'test', '1')))[0]
    )
    out_dir = str(tmp_path / 'maps')
    code = tool_status(
        import_tool('tools/visualizations/vis_feature_maps.py').main,
        [DIGITS_CONFIG, digits_checkpoint, image, '--layers', 'backbone.layer1', 'backbone.layer2']
        + ['--channels', '9', '--out-dir', out_dir]
        + digits_options(digits_root),
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    # 32 px input: layer1 16 channels at 16x16, layer2 24 channels at 8x8.
    assert 'backbone.layer1: (16, 16, 16)' in out_text
    assert 'backbone.layer2: (24, 8, 8)' in out_text
    for layer in ('backbone.layer1', 'backbone.layer2'):
        path = osp.join(out_dir, f'{layer}.png')
        assert path in out_text
        assert png_size(path) == (3 * 120, 3 * 120)  # 9 channels: a 3x3 grid of 120 px


def test_vis_feature_maps_unknown_layer_is_a_clear_error(
    tmp_path, capsys, digits_root, digits_checkpoint
):
    image = osp.join(
        digits_root, 'test', '0', sorted(os.listdir(osp.join(digits_root, 'test', '0')))[0]
    )
    code = tool_status(
        import_tool('tools/visualizations/vis_feature_maps.py').main,
        [DIGITS_CONFIG, digits_checkpoint, image, '--layers', 'backbone.layre1']
        + digits_options(digits_root),
    )
    out_text, err_text = capsys.readouterr()
    assert code == 1
    assert "layer 'backbone.layre1' is not a module of" in err_text
    assert 'backbone.layer1' in err_text and 'Traceback' not in err_text


def test_vis_cam_writes_an_overlay(tmp_path, capsys, digits_root, digits_checkpoint):
    image = osp.join(
        digits_root, 'test', '2', sorted(os.listdir(osp.join(digits_root, 'test', '2')))[0]
    )
    out = str(tmp_path / 'cam.png')
    code = tool_status(
        import_tool('tools/visualizations/vis_cam.py').main,
        [DIGITS_CONFIG, digits_checkpoint, image, '--class', '2', '--out', out]
        + digits_options(digits_root),
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    assert f'class 2 at backbone.layer3 written to {out}' in out_text
    assert png_size(out) == (2 * 256, 256)


def test_vis_tsne_embeds_every_image_of_the_split(tmp_path, capsys, digits_root, digits_checkpoint):
    out, feats = str(tmp_path / 'tsne.png'), str(tmp_path / 'feats.npz')
    code = tool_status(
        import_tool('tools/visualizations/vis_tsne.py').main,
        [
            DIGITS_CONFIG,
            digits_checkpoint,
            '--split',
            'val',
            '--out',
            out,
            '--save-features',
            feats,
            '--max-iter',
            '250',
        ]
        + digits_options(digits_root),
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    per_class = {c: len(os.listdir(osp.join(digits_root, 'val', c))) for c in ('0', '1', '2')}
    saved = np.load(feats)
    assert saved['features'].shape == (sum(per_class.values()), 1280)
    assert [int((saved['labels'] == i).sum()) for i in range(3)] == list(per_class.values())
    assert f'{sum(per_class.values())} val images, 1280-d features' in out_text
    assert png_size(out) == (700, 600)


def test_vis_cam_class_out_of_range_is_a_clear_error(capsys, digits_root, digits_checkpoint):
    image = osp.join(
        digits_root, 'test', '2', sorted(os.listdir(osp.join(digits_root, 'test', '2')))[0]
    )
    code = tool_status(
        import_tool('tools/visualizations/vis_cam.py').main,
        [DIGITS_CONFIG, digits_checkpoint, image, '--class', '7'] + digits_options(digits_root),
    )
    assert code == 1
    assert '--class 7: the model has classes 0..2' in capsys.readouterr().err


def test_vis_feature_maps_refuses_out_instead_of_making_a_folder_named_x_png(capsys):
    from mmtl_testing import import_tool

    tool = import_tool('tools/visualizations/vis_feature_maps.py')
    with pytest.raises(SystemExit) as exit_:
        tool.parse_args(['cfg.py', 'ckpt.pth', 'img.png', '--layers', 'backbone', '--out', 'x.png'])
    assert exit_.value.code == 2
    assert 'unrecognized arguments: --out x.png' in capsys.readouterr().err
