"""pytorch-grad-cam methods in mmtl: each peaks where a small trained model's evidence is."""

import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT, import_tool, tool_status
from torch import nn

from mmtl.analysis.gradcam import CAM_METHODS, class_activation_map, vit_reshape_transform

DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'
#: The evidence squares of the test image: class 0 (red channel) and class 1 (green).
SQUARES = {0: (slice(2, 10), slice(2, 10)), 1: (slice(20, 28), slice(18, 26))}
#: Methods that explain one class; the Eigen ones show the main component, for any class.
CLASS_AGNOSTIC = ('eigencam', 'eigengradcam')

pytestmark = pytest.mark.usefixtures('one_thread')


def square_batch(rng, n: int, size: int = 32, side: int = 8):
    """Noise images with one bright square in channel ``label`` (0, 1 or 2) at a random place."""
    images = torch.from_numpy(rng.random((n, 3, size, size), dtype=np.float32)) * 0.3
    labels = torch.from_numpy(rng.integers(0, 3, n))
    for i in range(n):
        row, col = rng.integers(0, size - side, 2)
        images[i, labels[i], row : row + side, col : col + side] = 1.0
    return images, labels


@pytest.fixture(scope='module')
def trained_cnn():
    """A small CNN trained to tell which colour channel holds the square (100 % accurate)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for _ in range(150):
        images, labels = square_batch(rng, 32)
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_num_threads(threads)
    images, labels = square_batch(rng, 128)
    with torch.no_grad():
        assert (model(images).argmax(1) == labels).float().mean() > 0.95
    return model.eval()


def two_square_image():
    image = torch.full((1, 3, 32, 32), 0.15)
    for channel, (rows, cols) in SQUARES.items():
        image[0, channel, rows, cols] = 1.0
    return image


def peak_and_contrast(cam: torch.Tensor, rows: slice, cols: slice):
    peak = np.unravel_index(int(cam.argmax()), cam.shape)
    inside = cam[rows, cols]
    outside = (cam.sum() - inside.sum()) / (cam.numel() - inside.numel())
    inside_peak = rows.start <= peak[0] < rows.stop and cols.start <= peak[1] < cols.stop
    return inside_peak, float(inside.mean() / max(float(outside), 1e-6))


@pytest.mark.parametrize('method', [m for m in CAM_METHODS if m not in CLASS_AGNOSTIC])
def test_class_methods_peak_inside_the_class_square(trained_cnn, method):
    for class_index, (rows, cols) in SQUARES.items():
        cam, explained, scores = class_activation_map(
            trained_cnn, two_square_image(), '2', class_index, method=method
        )
        assert explained == class_index and cam.shape == (32, 32)
        assert 0.0 <= float(cam.min()) and float(cam.max()) == pytest.approx(1.0, abs=1e-3)
        inside_peak, contrast = peak_and_contrast(cam, rows, cols)
        assert inside_peak and contrast > 4, (method, class_index, contrast)
    assert all(not m._forward_hooks for m in trained_cnn.modules())  # hooks released


@pytest.mark.parametrize('method', CLASS_AGNOSTIC)
def test_eigen_methods_peak_inside_an_evidence_square(trained_cnn, method):
    cam, _, _ = class_activation_map(trained_cnn, two_square_image(), '2', 0, method=method)
    assert any(peak_and_contrast(cam, *square)[0] for square in SQUARES.values())


def test_aug_smoothing_keeps_the_peak_in_the_class_square(trained_cnn):
    rows, cols = SQUARES[1]
    cam, _, _ = class_activation_map(trained_cnn, two_square_image(), '2', 1, aug_smooth=True)
    inside_peak, contrast = peak_and_contrast(cam, rows, cols)
    assert inside_peak and contrast > 4


def test_eigen_smoothing_keeps_the_peak_on_evidence(trained_cnn):
    # The principal component has no sign tied to the class: it may show either square.
    cam, _, _ = class_activation_map(trained_cnn, two_square_image(), '2', 1, eigen_smooth=True)
    assert any(peak_and_contrast(cam, *square)[0] for square in SQUARES.values())


def test_vit_reshape_lays_patch_tokens_out_as_a_map():
    tokens = torch.arange(2 * 17 * 5, dtype=torch.float32).reshape(2, 17, 5)
    grid = vit_reshape_transform(1)(tokens)
    assert grid.shape == (2, 5, 4, 4)
    assert torch.equal(grid[1, :, 2, 3], tokens[1, 1 + 2 * 4 + 3])
    with pytest.raises(ValueError, match='square'):
        vit_reshape_transform(2)(tokens)


@pytest.fixture(scope='module')
def named_checkpoint(tmp_path_factory, digits_root):
    """A 3-class digits model whose checkpoint names its classes zero, one, two."""
    from mmtl.apis import init_model
    from mmtl.config.load import load_config

    cfg = load_config(DIGITS_CONFIG, {'model.head.num_classes': 3, 'data_root': digits_root})
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('ckpt') / 'named.pth')
    meta = {'dataset_meta': {'classes': ['zero', 'one', 'two']}}
    torch.save({'state_dict': init_model(cfg).state_dict(), 'meta': meta}, path)
    return path


def test_openmmlab_vis_cam_order_method_and_class_name(
    tmp_path, capsys, digits_root, named_checkpoint
):
    folder = osp.join(digits_root, 'test', '2')
    image = osp.join(folder, sorted(os.listdir(folder))[0])
    out = str(tmp_path / 'cam.png')
    options = ['--cfg-options', f'data_root={digits_root}', 'model.head.num_classes=3']
    tool = import_tool('tools/visualization/vis_cam.py')
    argv = [image, DIGITS_CONFIG, named_checkpoint, '--method', 'gradcam++']
    argv += ['--target-layers', 'backbone.layer3', '--target-category', 'two']
    assert tool.main(argv + ['--save-path', out] + options) == 0
    assert f'Grad-CAM++ of class two at backbone.layer3 written to {out}' in capsys.readouterr().out
    png = cv2.imread(out)
    assert png is not None and png.shape[:2] == (256, 512)

    mmtl_order = [DIGITS_CONFIG, named_checkpoint, image, '--class', 'seven'] + options
    assert tool_status(import_tool('tools/visualizations/vis_cam.py').main, mmtl_order) == 1
    err = capsys.readouterr().err
    assert "no class named 'seven' (names: zero, one, two)" in err and 'Traceback' not in err
