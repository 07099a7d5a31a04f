"""Small datasets: the last training batch, a batch larger than the data, a short warm-up.

With 50 images and batch 16, the last batch of 2 normalised BatchNorm with two images'
statistics (measured in issue 13: few-shot top-1 41 % from 50 images, 78 % from 25).
"""

import glob
import os
import os.path as osp
import shutil
import uuid

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmtl_testing import REPO_ROOT
from mmtl_testing.toy_runner import ToyData, ToyModel

from mmtl.config.load import load_config
from mmtl.datasets import small_data_batching

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


@pytest.mark.parametrize(
    'samples, batch, expected',
    [
        (50, 16, (16, True)),  # last batch 2 < 8: dropped
        (60, 16, (16, False)),  # last batch 12 >= 8: kept
        (64, 16, (16, False)),  # no incomplete batch
        (10, 16, (10, False)),  # clamped: one batch of everything
        (1, 4, (1, False)),
    ],
)
def test_small_data_rule(samples, batch, expected):
    assert small_data_batching(samples, batch) == expected


@pytest.fixture(scope='module')
def fifty_digits(digits_root, tmp_path_factory):
    """50 real training images (17 + 17 + 16 of digits 0-2)."""
    root = tmp_path_factory.mktemp('fifty')
    shutil.copy(osp.join(digits_root, 'classes.txt'), root / 'classes.txt')
    for digit, count in zip('012', (17, 17, 16)):
        os.makedirs(root / 'train' / digit)
        for path in sorted(glob.glob(osp.join(digits_root, 'train', digit, '*.png')))[:count]:
            shutil.copy(path, root / 'train' / digit)
    return str(root)


@pytest.fixture
def logged(monkeypatch):
    """The lines SmallDataBatchSampler logs."""
    from mmtl.datasets import batch_samplers

    lines = []
    monkeypatch.setattr(batch_samplers, 'print_log', lambda msg, **kwargs: lines.append(msg))
    return lines


def train_loader(data_root, batch_size):
    cfg = load_config(
        DIGITS_CONFIG,
        {
            'data_root': data_root,
            'train_dataloader.batch_size': batch_size,
            'train_dataloader.num_workers': 0,
        },
    )
    init_default_scope('mmtl')
    return Runner.build_dataloader(cfg.train_dataloader, seed=0)


def test_base_config_drops_a_tiny_last_batch(fifty_digits, logged):
    loader = train_loader(fifty_digits, 16)
    sizes = [len(batch['inputs']) for batch in loader]
    assert sizes == [16, 16, 16]
    assert len(loader) == 3
    assert len(logged) == 1 and 'the last batch of each epoch (2 of 50 images' in logged[0]


def test_base_config_clamps_a_batch_larger_than_the_data(fifty_digits, logged):
    loader = train_loader(fifty_digits, 64)
    assert [len(batch['inputs']) for batch in loader] == [50]
    assert len(logged) == 1 and 'batch_size=64 is more than the 50 images per process' in logged[0]


def test_drop_last_on_the_command_line_goes_to_the_batch_sampler(fifty_digits):
    cfg = load_config(
        DIGITS_CONFIG, {'data_root': fifty_digits, 'train_dataloader.drop_last': False}
    )
    assert 'drop_last' not in cfg.train_dataloader
    assert cfg.train_dataloader.batch_sampler.drop_last is False


def test_one_iteration_epochs_get_a_real_warm_up(tmp_path):
    record = {}
    from mmengine.hooks import Hook

    class Record(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            record[runner.iter] = runner.optim_wrapper.optimizer.param_groups[0]['lr']

    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=8
        ),  # one iteration per epoch
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=0.01,
                by_epoch=True,
                begin=0,
                end=1,
                convert_to_iter_based=True,
            ),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=40),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='WarmupFloorHook', min_iters=10), Record()],
        default_scope='mmtl',
        log_level='WARNING',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    runner.train()
    # 10 iterations from 1 % to the full lr, instead of one step at 1 % and a jump.
    for step in range(10):
        assert record[step] == pytest.approx(0.1 * (0.01 + 0.99 * step / 9), rel=1e-6)
    assert record[20] == pytest.approx(0.1)


def test_base_runtime_has_the_small_data_and_stop_hooks():
    hooks = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py')
    ).default_hooks
    assert hooks.warmup_floor.type == 'WarmupFloorHook'
    assert hooks.graceful_stop.type == 'GracefulStopHook'
    assert hooks.effective_lr.type == 'EffectiveLrHook'


def test_a_one_iteration_warm_up_does_not_leave_the_whole_run_at_one_percent():
    # mmengine: a LinearLR of one iteration never reaches its end factor, and the cosine after
    # it decays from the 1 % it left. 6 one-iteration epochs: the digits config's schedule.
    from mmtl.analysis.lr_schedule import simulate_schedule

    cfg = load_config(DIGITS_CONFIG, {'train_cfg.max_epochs': 6})
    lr = cfg.optim_wrapper.optimizer.lr
    schedule = simulate_schedule(cfg, epoch_length=1)
    assert schedule.lr[0] == pytest.approx(0.01 * lr)
    assert max(schedule.lr) > 0.5 * lr, schedule.lr
