"""End to end through the real entry points: mim train/test/run/gridsearch and tools/*.py."""

import glob
import json
import os.path as osp
import sys
import time
from pathlib import Path

import pytest
import torch
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env

DIGITS_CONFIG = 'mobilenet-v2_digits.py'
FRUIT_CONFIG = 'mobilenet-v2_fruit.py'
FRUIT_URL = (
    'https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
    'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'
)

pytestmark = pytest.mark.slow


def digits_options(data_root: str, epochs: int, batch_size: int = 8) -> list:
    with open(osp.join(data_root, 'classes.txt')) as f:
        num_classes = len(f.read().split())  # the head must match the data (3 or 10 digits)
    return [
        '--cfg-options',
        f'data_root={data_root}',
        f'model.head.num_classes={num_classes}',
        f'train_cfg.max_epochs={epochs}',
        f'train_dataloader.batch_size={batch_size}',
        'default_hooks.logger.interval=5',
        *NO_WORKERS,
    ]


def load_checkpoint_file(path: str) -> dict:
    from mmtl.utils import safe_torch_load

    return safe_torch_load(path)


@pytest.fixture(scope='module')
def trained_digits(tmp_path_factory, all_digits_root):
    """``mim train mmtl`` on the ten digits for 5 epochs, run from outside the repository."""
    cwd = str(tmp_path_factory.mktemp('mim_train'))
    result = run_command(
        ['mim', 'train', 'mmtl', DIGITS_CONFIG, '--work-dir', 'wd']
        + digits_options(all_digits_root, epochs=5, batch_size=32),
        cwd=cwd,
    )
    assert result.returncode == 0, describe(result)
    return osp.join(cwd, 'wd'), result


def test_mim_finds_bare_config_name_from_any_directory(trained_digits):
    _, result = trained_digits
    expected = osp.realpath(osp.join(REPO_ROOT, 'configs', DIGITS_CONFIG))
    assert f'will use {expected} instead' in result.stdout


@pytest.fixture(scope='module')
def tested_digits(trained_digits, all_digits_root):
    """``mim test mmtl`` on the best checkpoint of :func:`trained_digits`."""
    work_dir, _ = trained_digits
    best = glob.glob(osp.join(work_dir, 'best_accuracy_top1_epoch_*.pth'))
    assert len(best) == 1, sorted(glob.glob(osp.join(work_dir, '*')))
    result = run_command(
        ['mim', 'test', 'mmtl', DIGITS_CONFIG, '--checkpoint', best[0], '--work-dir', work_dir]
        + ['--cfg-options', f'data_root={all_digits_root}', *NO_WORKERS],
        cwd=osp.dirname(work_dir),
    )
    assert result.returncode == 0, describe(result)
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        return best[0], json.load(f)


def test_mim_train_then_test_beats_chance(trained_digits, tested_digits):
    work_dir, _ = trained_digits
    best, record = tested_digits
    assert osp.isfile(osp.join(work_dir, 'epoch_5.pth'))
    assert record['checkpoint'] == best
    # Ten classes: chance is 10 %.
    assert record['metrics']['accuracy/top1'] > 60.0
    assert record['metrics']['accuracy/top5'] >= record['metrics']['accuracy/top1']


def test_checkpoint_carries_class_names(trained_digits):
    work_dir, _ = trained_digits
    ckpt = load_checkpoint_file(osp.join(work_dir, 'epoch_5.pth'))
    assert tuple(ckpt['meta']['dataset_meta']['classes']) == tuple(str(d) for d in range(10))


def test_fewer_than_five_classes_reports_top1_only(tmp_path, digits_root):
    """topk=(1, 5) in the base config must not crash a 3-class dataset."""
    config = osp.join(REPO_ROOT, 'configs', DIGITS_CONFIG)
    tools = osp.join(REPO_ROOT, 'tools')
    train = run_command(
        [sys.executable, osp.join(tools, 'train.py'), config, '--work-dir', 'wd', '--no-validate']
        + digits_options(digits_root, 1)
        + ['model.head.num_classes=3'],
        str(tmp_path),
    )
    assert train.returncode == 0, describe(train)
    out = str(tmp_path / 'metrics.json')
    test = run_command(
        [sys.executable, osp.join(tools, 'test.py'), config, 'wd/epoch_1.pth', '--work-dir', 'wd']
        + ['--out-metrics', out, '--cfg-options', f'data_root={digits_root}', *NO_WORKERS]
        + ['model.head.num_classes=3'],
        str(tmp_path),
    )
    assert test.returncode == 0, describe(test)
    with open(out) as f:
        metrics = json.load(f)['metrics']
    assert {key for key in metrics if key.startswith('accuracy/')} == {'accuracy/top1'}
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_resume_continues_from_saved_epoch(tmp_path, digits_root):
    work_dir = str(tmp_path / 'wd')
    train = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py')]
    config = osp.join(REPO_ROOT, 'configs', DIGITS_CONFIG)
    first = run_command(
        train + [config, '--work-dir', work_dir] + digits_options(digits_root, 2, 32),
        str(tmp_path),
    )
    assert first.returncode == 0, describe(first)
    iters_per_epoch = load_checkpoint_file(osp.join(work_dir, 'epoch_2.pth'))['meta']['iter'] // 2

    second = run_command(
        train + [config, '--work-dir', work_dir, '--resume'] + digits_options(digits_root, 3, 32),
        str(tmp_path),
    )
    assert second.returncode == 0, describe(second)
    log = second.stdout + second.stderr
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train) [3]' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2]' not in log
    meta = load_checkpoint_file(osp.join(work_dir, 'epoch_3.pth'))['meta']
    assert meta['epoch'] == 3
    assert meta['iter'] == 3 * iters_per_epoch


def test_load_from_other_class_count_keeps_backbone_skips_head(tmp_path, digits_root):
    from mmtl.apis import init_model
    from mmtl.apis.runner_setup import build_runner, prepare_train_config
    from mmtl.utils.run_args import train_parser

    config = osp.join(REPO_ROOT, 'configs', DIGITS_CONFIG)
    # A "pretrained" checkpoint with 7 classes, saved the way OpenMMLab checkpoints are.
    source = init_model(config, cfg_options={'model.head.num_classes': 7})
    ckpt_path = str(tmp_path / 'pretrained_7_classes.pth')
    torch.save({'meta': {}, 'state_dict': source.state_dict()}, ckpt_path)

    args = train_parser().parse_args(
        [config, '--work-dir', str(tmp_path / 'wd'), '--cfg-options', f'load_from={ckpt_path}']
        + digits_options(digits_root, 1)[1:]
    )
    runner = build_runner(prepare_train_config(args))  # the config as written: the Runner resolves
    runner.load_or_resume()

    model_state = runner.model.state_dict()
    source_state = source.state_dict()
    backbone_keys = [k for k in source_state if k.startswith('backbone.')]
    assert backbone_keys
    for key in backbone_keys:
        assert torch.equal(model_state[key], source_state[key]), key
    # The run's 3-class head (three digits), not the checkpoint's 7-class one.
    assert model_state['head.fc.weight'].shape == (3, 1280)

    log_file = glob.glob(osp.join(runner.log_dir, '*.log'))[0]
    with open(log_file) as f:
        log = f.read()
    summary = next(line for line in log.splitlines() if 'checkpoint weights:' in line)
    assert ' - INFO - ' in summary  # the expected head swap is news, not a warning (issue 12)
    assert f'{len(source_state) - 2} tensors loaded' in summary
    assert 'head.fc.weight (7, 1280) -> (3, 1280)' in summary
    assert 'head.fc.bias (7,) -> (3,)' in summary


@pytest.mark.parametrize('world_size,expected_lr', [(1, 0.01 * 32 / 256), (8, 0.01)])
def test_fruit_config_lr_scales_with_device_count(
    tmp_path, fruit_root, monkeypatch, world_size, expected_lr
):
    from mmengine.runner import Runner

    from mmtl.config import load_config

    cfg = load_config(
        osp.join(REPO_ROOT, 'configs', FRUIT_CONFIG),
        {'data_root': fruit_root, 'work_dir': str(tmp_path / 'wd')},
    )
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    runner = Runner.from_cfg(cfg)
    monkeypatch.setattr(Runner, 'world_size', property(lambda self: world_size))
    wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(wrapper, runner.auto_scale_lr)
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(expected_lr)


def test_fruit_config_offline_stops_at_once_naming_url(tmp_path, fruit_root):
    start = time.monotonic()
    result = run_command(
        ['mim', 'train', 'mmtl', FRUIT_CONFIG, '--work-dir', 'wd']
        + ['--cfg-options', f'data_root={fruit_root}'],
        cwd=str(tmp_path),
    )
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    message = result.stderr
    cache_file = osp.join(
        str(tmp_path), 'torch_home', 'hub', 'checkpoints', osp.basename(FRUIT_URL)
    )
    assert FRUIT_URL in message
    assert cache_file in message
    assert '--cfg-options load_from=' in message
    # mmtl's own message comes first and alone; mim adds its own traceback after it.
    assert 'error: Could not download' in message.split('Traceback')[0]
    assert not glob.glob(str(tmp_path / 'wd' / '*.pth'))
    assert elapsed < 60, f'took {elapsed:.0f}s before failing'


def test_fruit_config_trains_from_local_checkpoint(tmp_path, fruit_root):
    """The fruit config with a local ImageNet-shaped checkpoint instead of the URL."""
    from mmpretrain.models import ImageClassifier

    imagenet_model = ImageClassifier(
        backbone=dict(type='MobileNetV2', widen_factor=1.0),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280),
    )
    ckpt_path = str(tmp_path / 'mobilenet_v2_imagenet.pth')
    torch.save({'meta': {'note': 'test'}, 'state_dict': imagenet_model.state_dict()}, ckpt_path)

    result = run_command(
        ['mim', 'train', 'mmtl', FRUIT_CONFIG, '--work-dir', 'wd', '--cfg-options']
        + [f'load_from={ckpt_path}', f'data_root={fruit_root}', 'model.head.num_classes=3']
        + ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4', *NO_WORKERS],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    log = result.stdout + result.stderr
    assert f'Load checkpoint from {ckpt_path}' in log
    # 1 process x 4 images against the 8 x 32 the lr was set for.
    assert 'Scaling the original LR by 0.015625' in log
    trained = load_checkpoint_file(str(tmp_path / 'wd' / 'epoch_1.pth'))
    assert tuple(trained['meta']['dataset_meta']['classes']) == ('apple', 'banana', 'kiwi')


def test_mim_run_infer_agrees_with_test_accuracy(tested_digits, all_digits_root, tmp_path):
    best, record = tested_digits
    out = str(tmp_path / 'preds.json')
    test_dir = osp.join(all_digits_root, 'test')
    result = run_command(
        ['mim', 'run', 'mmtl', 'infer', DIGITS_CONFIG, best, test_dir, '--out', out],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    with open(out) as f:
        rows = json.load(f)
    assert len(rows) == len(glob.glob(osp.join(test_dir, '*', '*.png')))
    correct = sum(row['pred_class'] == osp.basename(osp.dirname(row['image'])) for row in rows)
    accuracy = 100.0 * correct / len(rows)
    assert accuracy == pytest.approx(record['metrics']['accuracy/top1'], abs=0.01)


def test_mim_gridsearch_runs_each_combination(tmp_path, digits_root):
    result = run_command(
        ['mim', 'gridsearch', 'mmtl', DIGITS_CONFIG, '--work-dir', 'grid']
        + ['--search-args', '--optim_wrapper.optimizer.lr 0.001 0.004']
        + digits_options(digits_root, 1),
        cwd=str(tmp_path),
        timeout=900,
    )
    assert result.returncode == 0, describe(result)
    for lr in ('0.001', '0.004'):
        run_dir = tmp_path / f'grid_search_optim_wrapper.optimizer.lr_{lr}'
        assert (run_dir / 'epoch_1.pth').is_file(), sorted(p.name for p in tmp_path.iterdir())
        dumped = run_dir / f'mobilenet-v2_digits_search_optim_wrapper.optimizer.lr_{lr}.py'
        assert f'lr={lr}' in dumped.read_text()


def test_normal_install_ships_copies_that_mim_uses(tmp_path, digits_root, normal_install):
    """``pip install .`` (no editable) copies configs/tools into mmtl/.mim and mim uses them."""
    site = Path(normal_install)
    shipped = site / 'mmtl' / '.mim' / 'configs' / DIGITS_CONFIG
    assert shipped.is_file() and not shipped.is_symlink()
    assert (site / 'mmtl' / '.mim' / 'tools' / 'train.py').is_file()

    env = tool_env(str(tmp_path), PYTHONPATH=str(site))
    result = run_command(
        ['mim', 'train', 'mmtl', DIGITS_CONFIG, '--work-dir', 'wd']
        + digits_options(digits_root, 1),
        cwd=str(tmp_path),
        env=env,
    )
    assert result.returncode == 0, describe(result)
    assert f'will use {shipped}' in result.stdout
    assert str(site / 'mmtl' / '.mim' / 'tools' / 'train.py') in result.stdout
    assert (tmp_path / 'wd' / 'epoch_1.pth').is_file()
