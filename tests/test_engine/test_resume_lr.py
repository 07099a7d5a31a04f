"""The lr on resume: a lr lowered in the config applies, and a raised max_epochs stretches the
cosine schedule (EffectiveLrHook); the NaN-loss advice names the command that does it.

mmengine restores the optimizer's and the schedulers' state on resume, which brought the old
lr back (so a run that diverged diverged again) and kept a cosine built for the old end (so
the added epochs trained at the final, near-zero lr).
"""

import math
import uuid

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmtl_testing import tool_status
from mmtl_testing.toy_runner import ITERS_PER_EPOCH, ToyData, ToyModel

from mmtl.engine.hooks.non_finite_loss_hook import NonFiniteLossError
from mmtl.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordLr(Hook):
    """Records the lr of group 0 before each iteration (and poisons the loss from ``nan_at``)."""

    def __init__(self, record, nan_at=None):
        self.record, self.nan_at = record, nan_at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.record[runner.iter] = runner.optim_wrapper.optimizer.param_groups[0]['lr']
        if runner.iter == self.nan_at:
            runner.model.loss_weight = float('nan')


def make_runner(work_dir, lr, epochs, record, resume=False, nan_at=None):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        param_scheduler=[
            dict(type='CosineAnnealingLR', by_epoch=True, eta_min=0, convert_to_iter_based=True)
        ],
        train_cfg=dict(type='ResumableEpochBasedTrainLoop', max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1)),
        custom_hooks=[
            dict(type='NonFiniteLossHook'),
            dict(type='EffectiveLrHook'),
            dict(type='RecordLr', record=record, nan_at=nan_at),
        ],
        default_scope='mmtl',
        log_level='WARNING',
        resume=resume,
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )


def cosine(lr, step, total):
    return lr * (1 + math.cos(math.pi * step / total)) / 2


def test_a_lower_lr_in_the_config_applies_on_resume(tmp_path):
    first, second = {}, {}
    total = 4 * ITERS_PER_EPOCH
    nan_at = 2 * ITERS_PER_EPOCH + 1
    with pytest.raises(NonFiniteLossError, match='lr=0.001 '):  # the advice: lr / 10
        make_runner(tmp_path, 0.01, 4, first, nan_at=nan_at).train()
    make_runner(tmp_path, 0.001, 4, second, resume=True).train()
    resumed_at = 2 * ITERS_PER_EPOCH  # from epoch_2.pth
    assert min(second) == resumed_at
    for step in range(resumed_at, total):  # the same cosine, ten times lower
        assert second[step] == pytest.approx(cosine(0.001, step, total), rel=1e-6)
    assert second[resumed_at] == pytest.approx(first[resumed_at] / 10, rel=1e-6)


def test_raising_max_epochs_on_resume_stretches_the_cosine(tmp_path):
    first, second = {}, {}
    make_runner(tmp_path, 0.01, 2, first).train()
    make_runner(tmp_path, 0.01, 4, second, resume=True).train()
    total = 4 * ITERS_PER_EPOCH
    for step in range(2 * ITERS_PER_EPOCH, total):  # as if planned for 4 epochs
        assert second[step] == pytest.approx(cosine(0.01, step, total), rel=1e-6)
    assert second[total - 1] > 0


def test_the_start_of_training_names_the_lr_of_each_group():
    import torch.nn as nn
    from mmengine.optim import build_optim_wrapper

    from mmtl.engine.hooks.effective_lr_hook import describe_param_groups

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
            self.head = nn.Linear(2, 1)

    model = Net()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.01),
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
        ),
    )
    line = describe_param_groups(model, wrapper.optimizer)
    assert line == '0.001: backbone.{0,1} (4 tensors); 0.01: head (2 tensors)'


def test_vis_lr_shows_every_parameter_group(tmp_path, capsys):
    from mmtl_testing import REPO_ROOT, import_tool

    config = f'{REPO_ROOT}/configs/mobilenet-v2_llrd_fruit.py'
    out = str(tmp_path / 'lr.png')
    code = tool_status(
        import_tool('tools/visualizations/vis_lr.py').main,
        [config, '--iters-per-epoch', '4', '--out', out],
    )
    text = capsys.readouterr().out
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.startswith('  ')]
    assert len(lines) == 10, text  # layer decay: stem, 7 stages, last conv, head
    assert lines[-1].startswith('  head (2 tensors) (lr 0.000625)')


def test_the_iteration_log_shows_the_largest_group_lr(tmp_path):
    # mmengine logs the first group's lr: under lr_mult / layer decay a fraction of the lr.
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01),
            paramwise_cfg=dict(custom_keys={'linear.weight': dict(lr_mult=0.1)}),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='EffectiveLrHook')],
        default_scope='mmtl',
        log_level='WARNING',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    runner.train()
    assert runner.optim_wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(0.001)
    assert runner.message_hub.get_scalar('train/lr').current() == pytest.approx(0.01)


def test_the_training_hooks_leave_testing_alone(tmp_path):
    from mmtl_testing.toy_runner import EpochScore

    EpochScore.scores = [0.5]
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, end=1)],
        train_cfg=dict(type='ResumableEpochBasedTrainLoop', max_epochs=1),
        test_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=8
        ),
        test_cfg=dict(),
        test_evaluator=dict(type='EpochScore'),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[
            dict(type='EffectiveLrHook'),
            dict(type='WarmupFloorHook'),
            dict(type='GracefulStopHook'),
        ],
        default_scope='mmtl',
        log_level='WARNING',
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )
    assert runner.test() == {'score': 0.5}


def test_the_start_of_training_line_gives_the_peak_lr_not_the_warmup_start(tmp_path):
    # A warm-up (LinearLR from 0.01x) has lowered the groups' lr before training starts:
    # the line must give what the lr rises to, as the config and auto_scale_lr set it.
    import logging

    import torch.nn as nn
    from mmengine.logging import MMLogger
    from mmengine.optim import LinearLR, build_optim_wrapper

    from mmtl.engine.hooks import EffectiveLrHook

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(2, 2))
            self.head = nn.Linear(2, 1)

    model = Net()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.01),
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
        ),
    )
    LinearLR(wrapper, start_factor=0.01, end=5, by_epoch=False)
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_instance(f'peak_lr_{tmp_path.name}')
    logger.addHandler(Collect())

    class FakeRunner:
        iter = 0

    runner = FakeRunner()
    runner.model, runner.optim_wrapper, runner.logger = model, wrapper, logger
    runner.param_schedulers, runner.log_dir = [], str(tmp_path)
    hook = EffectiveLrHook()
    hook.before_run(runner)
    hook.before_train(runner)
    assert records[0].endswith(': 0.001: backbone.0 (2 tensors); 0.01: head (2 tensors)')
    assert records[1] == 'The lr schedule starts at 0.01 x the peak (warm-up).'
