"""Dataset split and statistics, the one-batch overfit check, and the environment check."""

import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmtl_testing import REPO_ROOT, describe, import_tool, run_command, tool_env, tool_status

from mmtl.analysis import dataset_stats as ds
from mmtl.analysis.env import format_cudnn_version
from mmtl.analysis.overfit import balanced_indices, diagnose

DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'


def write_solid(path: str, size_wh: tuple, rgb: tuple) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    image = np.zeros((size_wh[1], size_wh[0], 3), np.uint8)
    image[:] = rgb[::-1]  # cv2 writes BGR
    assert cv2.imwrite(path, image)


@pytest.fixture
def solid_dataset(tmp_path) -> str:
    """train: 'red' 3 images 20x10, 'blue' 1 image 30x30; val: one of each."""
    root = str(tmp_path / 'solid')
    for i in range(3):
        write_solid(osp.join(root, 'train', 'red', f'{i}.png'), (20, 10), (200, 100, 0))
    write_solid(osp.join(root, 'train', 'blue', '0.png'), (30, 30), (0, 50, 100))
    write_solid(osp.join(root, 'val', 'red', '0.png'), (20, 10), (200, 100, 0))
    write_solid(osp.join(root, 'val', 'blue', '0.png'), (30, 30), (0, 50, 100))
    return root


def test_channel_stats_match_a_hand_computation(solid_dataset):
    files = ds.list_split_images(solid_dataset)
    assert {s: {c: len(v) for c, v in per.items()} for s, per in files.items()} == {
        'train': {'blue': 1, 'red': 3},
        'val': {'blue': 1, 'red': 1},
    }
    paths = files['train']['red'] + files['train']['blue']
    mean, std = ds.channel_stats(paths)
    red_px, blue_px = 3 * 20 * 10, 30 * 30  # 600 and 900 pixels
    n = red_px + blue_px
    expected_mean = [(red_px * r + blue_px * b) / n for r, b in ((200, 0), (100, 50), (0, 100))]
    expected_std = [
        np.sqrt((red_px * (r - m) ** 2 + blue_px * (b - m) ** 2) / n)
        for (r, b), m in zip(((200, 0), (100, 50), (0, 100)), expected_mean)
    ]
    assert mean == pytest.approx(expected_mean)  # [80, 70, 60]
    assert std == pytest.approx(expected_std)
    sizes = ds.size_summary(ds.image_sizes(paths))
    assert sizes['width'] == (20, 20.0, 30) and sizes['height'] == (10, 10.0, 30)
    assert sizes['most_common'][0] == ((20, 10), 3)


def test_imbalance_is_flagged_above_the_threshold():
    assert ds.class_imbalance({'a': 30, 'b': 10, 'c': 12}, 2.0).flagged
    result = ds.class_imbalance({'a': 30, 'b': 10, 'c': 12}, 3.0)
    assert (result.ratio, result.largest, result.smallest, result.flagged) == (3.0, 'a', 'b', False)
    assert ds.class_imbalance({'a': 5, 'b': 0}).ratio == float('inf')


def test_dataset_stats_tool_reports_counts_imbalance_and_normalisation(solid_dataset, capsys):
    code = tool_status(
        import_tool('tools/analysis_tools/dataset_stats.py').main,
        [solid_dataset, '--imbalance-threshold', '2', '--config', DIGITS_CONFIG],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    lines = out_text.splitlines()
    assert lines[1].split() == ['class', 'train', 'val']
    assert lines[2].split() == ['blue', '1', '1'] and lines[3].split() == ['red', '3', '1']
    assert lines[4].split() == ['total', '4', '2']
    assert 'train: largest/smallest class = 3.00 (red 3 / blue 1): IMBALANCED' in out_text
    assert 'val: largest/smallest class = 1.00' in out_text and 'ok (threshold 2)' in out_text
    assert 'most common (WxH): 20x10 (3), 30x30 (1)' in out_text
    assert 'mean  dataset [80.00, 70.00, 60.00]  normalisation [123.67, 116.28, 103.53]' in (
        out_text
    )


def test_dataset_stats_compares_with_the_normalisation_the_model_uses(tmp_path):
    """The model's own data_preprocessor wins over the top-level one, as in mmengine's runner."""
    config = tmp_path / 'cfg.py'
    config.write_text(
        "_base_ = ['mmtl::mobilenet-v2_digits.py']\n"
        'data_preprocessor = dict(mean=[1.0, 1.0, 1.0], std=[2.0, 2.0, 2.0])\n'
        'model = dict(data_preprocessor=dict(mean=[3.0, 3.0, 3.0], std=[4.0, 4.0, 4.0]))\n'
    )
    tool = import_tool('tools/analysis_tools/dataset_stats.py')
    mean, std, _ = tool.reference_normalisation(str(config))
    assert (mean, std) == ((3.0, 3.0, 3.0), (4.0, 4.0, 4.0))


def test_dataset_stats_tool_names_a_missing_folder(tmp_path, capsys):
    missing = str(tmp_path / 'nope')
    code = tool_status(import_tool('tools/analysis_tools/dataset_stats.py').main, [missing])
    assert code == 1
    assert f'dataset folder not found: {missing}' in capsys.readouterr().err


def test_split_dataset_tool_counts_match_the_files(tmp_path, capsys, digits_root):
    src = osp.join(digits_root, 'train')  # 3 digit folders, ~107 images each
    dst = str(tmp_path / 'split')
    code = tool_status(
        import_tool('tools/misc/split_dataset.py').main,
        [src, dst, '--ratios', '0.6', '0.2', '0.2', '--mode', 'symlink', '--seed', '1'],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    assert f'written to {dst}' in out_text
    rows = {line.split()[0]: line.split()[1:] for line in out_text.splitlines()[1:4]}
    for digit in ('0', '1', '2'):
        source = len(os.listdir(osp.join(src, digit)))
        counts = [len(os.listdir(osp.join(dst, s, digit))) for s in ('train', 'val', 'test')]
        assert sum(counts) == source
        assert rows[digit] == [str(c) for c in counts]
        assert counts[0] == pytest.approx(0.6 * source, abs=1)
        link = osp.join(dst, 'val', digit, os.listdir(osp.join(dst, 'val', digit))[0])
        assert osp.islink(link)
    # An existing split is refused with the folder named.
    assert tool_status(import_tool('tools/misc/split_dataset.py').main, [src, dst]) == 1
    assert f'{dst}/train exists' in capsys.readouterr().err


def test_balanced_batch_takes_every_class_in_turn():
    labels = [0] * 10 + [1] * 10 + [2] * 3
    picked = balanced_indices(labels, 8, seed=0)
    assert len(set(picked)) == 8
    assert [labels[i] for i in picked] == [0, 1, 2, 0, 1, 2, 0, 1]
    assert sorted(balanced_indices([0, 0, 1], 10)) == [0, 1, 2]


def test_diagnosis_names_the_likely_cause():
    text = diagnose([1.1, 1.1, 1.1], [0.0], 0.5, 0.05)
    assert text.startswith('loss did not fall below 0.05 (1.1000 -> 1.1000)')
    assert 'the lr is 0' in text and 'check labels, lr, pipeline' in text
    assert 'all frozen' in diagnose([1.0, 1.0], [0.1], None, 0.05)
    assert diagnose([1.0, float('nan')], [10.0], 3.0, 0.05).startswith('loss is not finite')


def overfit_args(data_root: str, *extra: str) -> list:
    return [DIGITS_CONFIG, '--batch-size', '6', *extra] + [
        '--cfg-options',
        f'data_root={data_root}',
        'model.head.num_classes=3',
    ]


def test_overfit_batch_succeeds_on_digits(one_thread, capsys, digits_root):
    code = tool_status(
        import_tool('tools/analysis_tools/overfit_batch.py').main,
        overfit_args(digits_root, '--steps', '100'),
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, out_text[-2000:] + err_text
    losses = [float(line.split()[-1]) for line in out_text.splitlines() if line.startswith('step')]
    assert losses[0] > 0.5 and losses[-1] < 0.05  # from ~ln(3) down to near zero
    assert out_text.splitlines()[-1].startswith(f'ok: loss {losses[-1]:.4f} < 0.05')


def test_overfit_batch_takes_class_weight_auto(one_thread, capsys, digits_root):
    # The remedy dataset_stats recommends for imbalance; the loss got the text 'auto'.
    options = overfit_args(digits_root, '--steps', '3', '--target', '1e-9')
    code = tool_status(
        import_tool('tools/analysis_tools/overfit_batch.py').main,
        options + ['model.head.loss.class_weight=auto'],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 2 and 'Traceback' not in err_text, out_text[-2000:] + err_text
    assert 'class_weight=auto: inverse class frequency of the training split' in out_text
    assert out_text.count('\nstep ') == 3  # trained with the weights


@pytest.mark.parametrize(
    'broken, cause',
    [
        (['--shuffle-labels'], 'check labels, lr, pipeline'),
        (['--cfg-options', 'optim_wrapper.optimizer.lr=0'], 'the lr is 0'),
    ],
)
def test_overfit_batch_fails_with_a_diagnosis(one_thread, capsys, digits_root, broken, cause):
    code = tool_status(
        import_tool('tools/analysis_tools/overfit_batch.py').main,
        overfit_args(digits_root, '--steps', '25') + broken,
    )
    out_text, err_text = capsys.readouterr()
    assert code == 2, out_text[-2000:]
    assert out_text.count('\nstep ') == 25  # every step printed, none reached the target
    assert err_text.startswith('FAILED: loss did not fall below 0.05')
    assert cause in err_text


def test_cudnn_version_text():
    assert format_cudnn_version(92400) == '9.24.0'
    assert format_cudnn_version(8907) == '8.9.7'


@pytest.mark.slow
def test_check_env_names_torch_and_the_cpu(tmp_path):
    result = run_command(
        [osp.join(osp.dirname(sys.executable), 'mim'), 'run', 'mmtl', 'check_env', DIGITS_CONFIG],
        cwd=str(tmp_path),
        env=tool_env(str(tmp_path), OMP_NUM_THREADS='1'),
    )
    assert result.returncode == 0, describe(result)
    assert f'torch                 {torch.__version__}' in result.stdout
    assert 'CUDA available        False' in result.stdout
    assert 'CUDA_VISIBLE_DEVICES  ' in result.stdout  # tool_env hides GPUs
    assert 'training here runs on CPU: no CUDA GPU visible' in result.stdout
    assert 'mmengine              0.10.7' in result.stdout
