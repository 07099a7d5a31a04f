"""Training curves from scalar logs, the simulated lr schedule, and the dataset browser."""

import glob
import json
import math
import os.path as osp

import cv2
import pytest
from mmtl_testing import (
    NO_WORKERS,
    REPO_ROOT,
    describe,
    import_tool,
    run_command,
    tool_env,
    tool_status,
)

from mmtl.analysis.logs import best_metric, curve_figures, load_scalar_log
from mmtl.analysis.lr_schedule import simulate_schedule
from mmtl.config.load import load_config

DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'

# Model forward/backward passes run in this process: keep them on one thread.
pytestmark = pytest.mark.usefixtures('one_thread')
FRUIT_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_fruit.py'

HAND_LOG = [
    {'lr': 0.001, 'loss': 2.0, 'epoch': 1, 'iter': 5, 'step': 5},
    {'lr': 0.002, 'loss': 1.5, 'epoch': 1, 'iter': 10, 'step': 10},
    {'accuracy/top1': 40.0, 'data_time': 0.1, 'time': 0.2, 'step': 1},
    {'lr': 0.003, 'loss': 1.0, 'epoch': 2, 'iter': 15, 'step': 15},
    {'lr': 0.002, 'loss': 0.8, 'epoch': 2, 'iter': 20, 'step': 20},
    {'accuracy/top1': 75.0, 'data_time': 0.1, 'time': 0.2, 'step': 2},
    {'lr': 0.001, 'loss': 0.7, 'epoch': 3, 'iter': 25, 'step': 25},
    {'accuracy/top1': 70.0, 'data_time': 0.1, 'time': 0.2, 'step': 3},
]


@pytest.fixture
def hand_log(tmp_path) -> str:
    run_dir = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run_dir.mkdir(parents=True)
    with open(run_dir / 'scalars.json', 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in HAND_LOG) + '\n')
    return str(tmp_path / 'work')


def test_log_records_split_and_series_have_one_point_per_record(hand_log):
    log = load_scalar_log(hand_log)
    assert log.path == osp.join(hand_log, '20260101_000000', 'vis_data', 'scalars.json')
    assert (len(log.train), len(log.val)) == (5, 3)
    assert log.loss_keys == ['loss'] and log.lr_keys == ['lr']
    assert log.metric_keys == ['accuracy/top1'] and log.val_axis == 'epoch'
    figures = curve_figures(log)
    assert sorted(figures) == ['loss', 'lr', 'val']
    loss_line = figures['loss'].axes[0].lines[0]
    assert list(loss_line.get_xdata()) == [5, 10, 15, 20, 25]
    assert list(loss_line.get_ydata()) == [2.0, 1.5, 1.0, 0.8, 0.7]
    assert list(figures['val'].axes[0].lines[0].get_ydata()) == [40.0, 75.0, 70.0]
    assert best_metric(log) == {'metric': 'accuracy/top1', 'value': 75.0, 'step': 2, 'last': 70.0}
    assert best_metric(log, rule='less')['step'] == 1


def test_bad_log_line_names_file_and_line(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'scalars\.json:2: not a JSON record'):
        load_scalar_log(str(path))
    with pytest.raises(FileNotFoundError, match='no scalars.json'):
        load_scalar_log(str(tmp_path / 'nowhere'))


def test_analyze_logs_tool_writes_pngs_and_summary(hand_log, tmp_path, capsys):
    out_dir = str(tmp_path / 'plots')
    code = tool_status(
        import_tool('tools/analysis_tools/analyze_logs.py').main,
        [hand_log, '--summary', '--out-dir', out_dir],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    assert '5 training and 3 validation records' in out_text
    assert 'best accuracy/top1: 75.0000 at epoch 2 (last: 70.0000)' in out_text
    assert 'final training loss: 0.7000' in out_text
    for name in ('loss', 'lr', 'val'):
        path = osp.join(out_dir, f'{name}.png')
        assert f'{name} curve written to {path}' in out_text
        assert cv2.imread(path).shape == (400, 700, 3)  # 7 x 4 inches at 100 dpi


def cosine_lr(base: float, eta_min: float, position: int, length: int) -> float:
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * position / length)) / 2


def test_simulated_schedule_warms_up_then_follows_the_cosine():
    cfg = load_config(FRUIT_CONFIG)  # SGD lr 0.01, LinearLR 0.1 for 1 epoch, cosine to 0
    schedule = simulate_schedule(cfg, epoch_length=10)
    total = 30 * 10
    assert len(schedule.lr) == total + 1
    assert schedule.lr[0] == pytest.approx(0.01 * 0.1)
    assert schedule.lr[10] == pytest.approx(0.01)  # warm-up over after one epoch
    # Cosine from iteration 10 to 300 (290 steps); the last iteration runs at step 289.
    assert schedule.lr[155] == pytest.approx(cosine_lr(0.01, 0.0, 145, 290))
    assert schedule.lr[total - 1] == pytest.approx(cosine_lr(0.01, 0.0, 289, 290))
    assert schedule.lr[total - 1] < 1e-6
    assert schedule.momentum == [0.9] * (total + 1)


def test_simulated_schedule_scales_with_auto_scale_lr(capsys):
    code = tool_status(
        import_tool('tools/visualizations/vis_lr.py').main,
        [FRUIT_CONFIG, '--iters-per-epoch', '4', '--out', '/dev/null'],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    # auto_scale_lr is on in the fruit config: 32 images on 1 process / 256 -> lr x 1/8.
    # WarmupFloorHook stretches the 4-iteration warm-up to 10, over the start of the cosine.
    assert '120 iterations (4 per epoch); lr x0.125: start 0.000125, peak 0.00124428' in out_text


def test_vis_lr_counts_iterations_from_the_dataset(tmp_path, capsys, digits_root):
    out = str(tmp_path / 'lr.png')
    code = tool_status(
        import_tool('tools/visualizations/vis_lr.py').main,
        [DIGITS_CONFIG, '--out', out]
        + ['--cfg-options', f'data_root={digits_root}', 'train_cfg.max_epochs=3'],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    train_images = sum(
        len(files) for split, files in _images_per_class(digits_root, 'train').items()
    )
    from mmtl.datasets import small_data_batching

    batch, drop_last = small_data_batching(train_images, 32)  # a last batch < 16 is dropped
    per_epoch = train_images // batch if drop_last else math.ceil(train_images / batch)
    assert f'{3 * per_epoch} iterations ({per_epoch} per epoch)' in out_text
    assert f'lr schedule written to {out}' in out_text
    assert cv2.imread(out).shape == (600, 700, 3)  # lr and momentum panels (AdamW beta1)


def _images_per_class(root: str, split: str) -> dict:
    import os

    folder = osp.join(root, split)
    return {c: os.listdir(osp.join(folder, c)) for c in sorted(os.listdir(folder))}


def test_browse_dataset_grid_is_seeded_and_titled(tmp_path, capsys, fruit_root):
    tool = import_tool('tools/visualizations/browse_dataset.py')
    outs = [str(tmp_path / f'{name}.png') for name in ('a', 'b', 'c')]
    options = [
        '--cfg-options',
        f'data_root={fruit_root}',
        'train_dataloader.dataset.pipeline.0.scale=64',  # LoadAndRandomResizedCrop
    ]
    for out, seed in zip(outs, (0, 0, 1)):
        code = tool_status(
            tool.main,
            [FRUIT_CONFIG, '--num', '6', '--cell', '100', '--seed', str(seed), '--out', out]
            + options,
        )
        assert code == 0, capsys.readouterr().err
    out_text = capsys.readouterr().out
    images = [cv2.imread(out) for out in outs]
    assert images[0].shape == (2 * 100, 3 * 100, 3)  # 6 panels: 2 rows of 3
    assert (images[0] == images[1]).all()  # same seed, same samples and crops
    assert not (images[0] == images[2]).all()
    assert out_text.count('written to') == 3


def test_browse_samples_carry_their_class_names(fruit_root):
    from mmtl.analysis.images import sample_grid
    from mmtl.datasets.builder import build_dataset

    cfg = load_config(FRUIT_CONFIG, {'data_root': fruit_root})
    dataset = build_dataset(cfg, 'train')
    images, titles, indices = sample_grid(dataset, 5, seed=3)
    assert len(images) == 5 and len(set(indices)) == 5
    classes = dataset.metainfo['classes']
    infos = [dataset.get_data_info(i) for i in indices]
    # Class, then the file name: a wrong label can be found and fixed.
    assert titles == [f'{classes[i["gt_label"]]}\n{osp.basename(i["img_path"])}' for i in infos]
    assert images[0].shape == (224, 224, 3) and images[0].dtype.name == 'uint8'
    # Colours survive the pipeline and come out as RGB: apple is red, banana yellow, kiwi green.
    for image, title in zip(images, [t.split('\n')[0] for t in titles]):
        red, green, blue = (float(image[..., c].mean()) for c in range(3))
        dominant = {'apple': red > green + 80, 'banana': min(red, green) > blue + 80}
        assert dominant.get(title, green > max(red, blue) + 50), (title, red, green, blue)


@pytest.mark.slow
def test_two_epoch_run_logs_summary_and_its_curves_match_the_records(tmp_path, fruit_root):
    # The digits config (32 px, AdamW, warm-up + cosine) on the tiny 3-class fruit folder.
    config = tmp_path / 'tiny_summary.py'
    config.write_text(
        f"_base_ = ['{DIGITS_CONFIG}']\n"
        "custom_hooks = [dict(type='ModelSummaryHook')]\n"
        'train_dataloader = dict(batch_size=4, dataset=dict(classes=None))\n'
        'val_dataloader = dict(dataset=dict(classes=None))\n'
        'test_dataloader = val_dataloader\n'
    )
    work_dir = str(tmp_path / 'work')
    options = [f'data_root={fruit_root}', 'model.head.num_classes=3', 'train_cfg.max_epochs=2']
    options += ['default_hooks.logger.interval=1', *NO_WORKERS]
    result = run_command(
        [f'{REPO_ROOT}/.venv/bin/python', f'{REPO_ROOT}/tools/train.py', str(config)]
        + ['--work-dir', work_dir, '--device', 'cpu', '--cfg-options', *options],
        cwd=str(tmp_path),
        env=tool_env(str(tmp_path), OMP_NUM_THREADS='1'),
    )
    assert result.returncode == 0, describe(result)
    # The summary goes to the work dir's log (the console shows a short header).
    (log_file,) = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(log_file) as f:
        log_text = f.read()
    assert 'model summary:' in log_text
    assert 'FLOPs at 1x3x32x32:' in log_text
    assert 'training memory estimate at batch 4' in log_text

    log = load_scalar_log(work_dir)
    with open(log.path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    per_epoch = math.ceil(len(_all_train_files(fruit_root)) / 4)  # 12 images, batch 4: 3
    assert [r['iter'] for r in records if 'loss' in r] == list(range(1, 2 * per_epoch + 1))
    assert len(log.train) == 2 * per_epoch and len(log.val) == 2
    figures = curve_figures(log)
    assert len(figures['loss'].axes[0].lines[0].get_xdata()) == 2 * per_epoch
    assert len(figures['lr'].axes[0].lines[0].get_xdata()) == 2 * per_epoch
    assert list(figures['val'].axes[0].lines[0].get_xdata()) == [1, 2]

    # The simulated schedule gives the lr the run used (and logged) at every iteration.
    cfg = load_config(str(config), {'data_root': fruit_root, 'train_cfg.max_epochs': 2})
    schedule = simulate_schedule(cfg, per_epoch)
    for record in log.train:
        assert record['lr'] == pytest.approx(schedule.lr[record['iter'] - 1], rel=1e-6), record


def _all_train_files(root: str) -> list:
    return [f for files in _images_per_class(root, 'train').values() for f in files]


def test_analyze_logs_unknown_metric_is_a_clear_error(hand_log, capsys):
    code = tool_status(
        import_tool('tools/analysis_tools/analyze_logs.py').main,
        [hand_log, '--no-plots', '--summary', '--metric', 'accuracy/top5'],
    )
    assert code == 1
    err_text = capsys.readouterr().err
    assert "no validation metric 'accuracy/top5'" in err_text and 'accuracy/top1' in err_text


def test_simulated_schedule_counts_gradient_accumulation_as_the_runner_does(capsys):
    # 32 images x 2 accumulation steps on 2 processes / 256 -> lr x 0.5, as MMTLRunner scales it.
    code = tool_status(
        import_tool('tools/visualizations/vis_lr.py').main,
        [
            FRUIT_CONFIG,
            '--iters-per-epoch',
            '4',
            '--out',
            '/dev/null',
            '--num-gpus',
            '2',
            '--cfg-options',
            'optim_wrapper.accumulative_counts=2',
        ],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    assert 'lr x0.5:' in out_text
