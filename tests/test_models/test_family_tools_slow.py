"""Every family's smallest member through the real entry points, on tiny data on the CPU.

For each family's fruit config: one epoch as a linear probe and as a full fine-tune (random
weights: no download), ``mim test``, ONNX export with parity, model summary, Grad-CAM and the
advisor. Architectures as published; only the input is small (``input_size``), and the ViTs'
patch grid stays at least 2 x 2; 8 images per split. Slow: minutes per family on 2 cores.
"""

import glob
import json
import os.path as osp
import sys

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command

pytestmark = [pytest.mark.slow, pytest.mark.proof]

#: The smallest member of each family -> test input size (a multiple of its patch size).
FAMILIES = {
    'mobilenet-v3-small_fruit.py': 32,
    'efficientnet-b0_fruit.py': 32,
    'efficientnetv2-b0_fruit.py': 32,
    'regnetx-400mf_fruit.py': 32,
    'resnext50-32x4d_fruit.py': 32,
    'wide-resnet50_fruit.py': 32,
    'convnext-v2-atto_fruit.py': 32,
    'convnext-tiny_fruit.py': 32,
    'swin-tiny_fruit.py': 224,  # its 7 x 7 windows need a 7 x 7 last stage
    'deit3-small-p16_fruit.py': 32,
    'vit-small-p14_dinov2_fruit.py': 28,
    'vit-base-p16_clip_fruit.py': 32,
}


def options(data_root: str, size: int, *extra: str, subset: bool = True) -> list:
    few = ['train_dataloader.dataset.indices=8', 'val_dataloader.dataset.indices=8']
    return [
        '--cfg-options',
        f'data_root={data_root}',
        'model.head.num_classes=3',
        'load_from=None',
        f'input_size={size}',
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=4',
        *(few if subset else []),
        'model.head.topk=1',
        'val_evaluator.topk=1',
        *NO_WORKERS,
        *extra,
    ]


def tool(relative: str) -> list:
    return [sys.executable, osp.join(REPO_ROOT, 'tools', relative)]


@pytest.mark.parametrize('config, size', sorted(FAMILIES.items()))
def test_family_trains_tests_exports_and_explains(config, size, digits_root, tmp_path):
    work = str(tmp_path / 'wd')
    probe = config.replace('_fruit.py', '_linear-probe_fruit.py')
    result = run_command(
        ['mim', 'train', 'mmtl', probe, '--work-dir', str(tmp_path / 'probe')]
        + options(digits_root, size),
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    result = run_command(
        ['mim', 'train', 'mmtl', config, '--work-dir', work] + options(digits_root, size),
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    checkpoint = sorted(glob.glob(osp.join(work, 'epoch_1.pth')))[0]

    result = run_command(
        ['mim', 'test', 'mmtl', config, '--checkpoint', checkpoint, '--work-dir', work]
        + options(digits_root, size, 'test_evaluator.0.topk=1'),
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    with open(osp.join(work, 'test_metrics.json')) as f:
        assert 'accuracy/top1' in json.load(f)['metrics']

    result = run_command(
        tool('analysis_tools/model_summary.py')
        + [osp.join(work, osp.basename(config)), '--checkpoint', checkpoint, '--no-layers'],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    assert 'FLOPs' in result.stdout

    image = glob.glob(osp.join(digits_root, 'test', '1', '*.png'))[0]
    result = run_command(
        tool('visualization/vis_cam.py')
        + [image, osp.join(work, osp.basename(config)), checkpoint, '--save-path', 'cam.png'],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    assert osp.isfile(tmp_path / 'cam.png')

    result = run_command(
        tool('advise.py')
        + [config, '--work-dir', str(tmp_path / 'advise'), '--no-progress']
        + ['--max-per-class', '8', '--max-val', '24']
        + options(digits_root, size, f'load_from={checkpoint}', subset=False),
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)

    onnx_dir = str(tmp_path / 'onnx')
    result = run_command(
        tool('deployment/export.py') + [checkpoint, '--out', onnx_dir], cwd=str(tmp_path)
    )
    assert result.returncode == 0, describe(result)
    with open(glob.glob(osp.join(onnx_dir, '*.json'))[0]) as f:
        assert json.load(f)['parity']['within_tolerance']
