"""Checkpoints under crashes, full disks and NaN losses: AtomicCheckpointHook, NonFiniteLossHook.

A toy model (one linear layer) trains in an mmengine Runner in about a second, with mmtl's
hooks exactly as the base runtime configures them.
"""

import glob
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmtl_testing.toy_runner import (  # noqa: F401
    ITERS_PER_EPOCH,
    EpochScore,
    PoisonLossAt,
    ToyData,
    ToyModel,
    checkpoint_names,
    digest,
    make_runner,
    pointer,
    temp_files,
)

import mmtl  # noqa: F401  (registers mmtl's hooks and checkpoint loaders)
from mmtl.engine.hooks import atomic_checkpoint_hook
from mmtl.engine.hooks.atomic_checkpoint_hook import CheckpointWriteError
from mmtl.engine.hooks.non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from mmtl.utils import safe_torch_load

# --------------------------------------------------------------------------------------------
# Atomic writes and the order of save / pointer / removal
# --------------------------------------------------------------------------------------------


def test_keeps_newest_checkpoints_and_pointer_names_the_last(tmp_path):
    make_runner(tmp_path, epochs=3).train()

    assert checkpoint_names(tmp_path) == ['epoch_2.pth', 'epoch_3.pth']
    assert pointer(tmp_path) == osp.join(str(tmp_path), 'epoch_3.pth')
    meta = safe_torch_load(str(tmp_path / 'epoch_3.pth'))['meta']
    assert (meta['epoch'], meta['iter']) == (3, 3 * ITERS_PER_EPOCH)
    assert temp_files(tmp_path) == []


def test_removes_old_checkpoint_only_after_the_new_one_is_written(tmp_path, monkeypatch):
    """Record, at each removal, which checkpoints are on disk: the new one is already there."""
    removals = []
    real_remove = atomic_checkpoint_hook.LocalBackend.remove

    def remove(self, path):
        removals.append((osp.basename(path), checkpoint_names(tmp_path), pointer(tmp_path)))
        real_remove(self, path)

    monkeypatch.setattr(atomic_checkpoint_hook.LocalBackend, 'remove', remove)
    make_runner(tmp_path, epochs=4).train()

    assert removals == [
        (
            'epoch_1.pth',
            ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'],
            str(tmp_path / 'epoch_3.pth'),
        ),
        (
            'epoch_2.pth',
            ['epoch_2.pth', 'epoch_3.pth', 'epoch_4.pth'],
            str(tmp_path / 'epoch_4.pth'),
        ),
    ]


def test_disk_full_keeps_earlier_checkpoints_and_says_so(tmp_path, disk_full_at):
    disk_full_at('epoch_3.pth')
    runner = make_runner(tmp_path, epochs=3)

    with pytest.raises(CheckpointWriteError) as info:
        runner.train()

    message = str(info.value)
    assert f'no space left on the device while writing {tmp_path / "epoch_3.pth"}' in message
    assert 'earlier checkpoints kept' in message
    # mmengine's own CheckpointHook would have removed epoch_1.pth before writing epoch_3.pth.
    assert checkpoint_names(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        epoch = int(name[6])
        assert safe_torch_load(str(tmp_path / name))['meta']['epoch'] == epoch
    assert pointer(tmp_path) == str(tmp_path / 'epoch_2.pth')
    assert temp_files(tmp_path) == []


def test_disk_full_while_moving_the_pointer_keeps_the_old_pointer(tmp_path, disk_full_at):
    disk_full_at('last_checkpoint', after=1)
    with pytest.raises(CheckpointWriteError, match='no space left .*/last_checkpoint;'):
        make_runner(tmp_path, epochs=2).train()
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert checkpoint_names(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']
    assert temp_files(tmp_path) == []


def test_disk_full_on_a_new_best_keeps_the_previous_best(tmp_path, disk_full_at):
    disk_full_at('best_score_epoch_2.pth')
    runner = make_runner(tmp_path, epochs=2, scores=[0.5, 0.9])

    with pytest.raises(CheckpointWriteError, match='best_score_epoch_2.pth'):
        runner.train()

    # mmengine's CheckpointHook removes the previous best before writing the new one.
    assert 'best_score_epoch_1.pth' in checkpoint_names(tmp_path)
    assert safe_torch_load(str(tmp_path / 'best_score_epoch_1.pth'))['meta']['epoch'] == 1
    assert temp_files(tmp_path) == []


def test_new_best_replaces_previous_best_after_it_is_written(tmp_path):
    make_runner(tmp_path, epochs=3, scores=[0.5, 0.9, 0.7]).train()
    assert checkpoint_names(tmp_path) == ['best_score_epoch_2.pth', 'epoch_2.pth', 'epoch_3.pth']


def test_stale_temp_files_of_a_killed_run_are_removed_on_restart(tmp_path):
    make_runner(tmp_path, epochs=1).train()
    stale = [tmp_path / '.epoch_2.pth.k3j4h5.tmp', tmp_path / '.last_checkpoint.x1y2.tmp']
    for path in stale:
        path.write_bytes(b'half a checkpoint')
    unrelated = tmp_path / '.notes.tmp'
    unrelated.write_text('not ours')

    runner = make_runner(tmp_path, epochs=2)
    runner._resume = True
    runner.train()

    assert not any(path.exists() for path in stale)
    assert unrelated.exists()
    assert checkpoint_names(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']


# --------------------------------------------------------------------------------------------
# NaN / Inf loss
# --------------------------------------------------------------------------------------------


def test_nan_loss_stops_naming_iteration_epoch_and_lr_and_keeps_checkpoints(tmp_path):
    # Epoch 1 trains and saves (checkpoint and best); the loss turns NaN at the 3rd
    # iteration of epoch 2 (0-based iteration 6).
    poison = dict(type='PoisonLossAt', at=ITERS_PER_EPOCH + 2)
    runner = make_runner(tmp_path, epochs=3, scores=[0.5, 0.9, 0.9], extra_hooks=[poison], lr=0.02)
    before = {}

    class Snapshot(Hook):
        def after_val_epoch(self, runner, metrics=None):
            for path in glob.glob(osp.join(str(tmp_path), '*.pth')):
                before[osp.basename(path)] = digest(path)

    runner.register_hook(Snapshot(), priority='LOWEST')

    with pytest.raises(NonFiniteLossError) as info:
        runner.train()

    message = str(info.value)
    assert f'loss is nan at iteration {ITERS_PER_EPOCH + 3} (epoch 2, batch 3 of 4), lr 0.02' in (
        message
    )
    assert f'the last good checkpoint is {tmp_path / "epoch_1.pth"}' in message
    assert f'the best is {tmp_path / "best_score_epoch_1.pth"}' in message
    # Nothing was written after the NaN: the epoch-1 files are byte for byte the same.
    assert before.keys() == {'epoch_1.pth', 'best_score_epoch_1.pth'}
    assert checkpoint_names(tmp_path) == sorted(before)
    assert {name: digest(tmp_path / name) for name in before} == before
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    weights = safe_torch_load(str(tmp_path / 'epoch_1.pth'))['state_dict']
    assert all(bool(torch.isfinite(t).all()) for t in weights.values())


def test_inf_loss_also_stops(tmp_path):
    runner = make_runner(tmp_path, epochs=1)
    runner.model.linear.bias.data.fill_(float('inf'))
    with pytest.raises(NonFiniteLossError, match='loss is inf at iteration 1 '):
        runner.train()
    assert checkpoint_names(tmp_path) == []


def test_weights_with_nan_are_never_saved():
    class FakeRunner:
        iter, epoch = 12, 3

        class message_hub:
            runtime_info = {'last_ckpt': 'wd/epoch_2.pth'}

        class logger:
            @staticmethod
            def error(message):
                pass

    good = {'state_dict': {'w': torch.ones(3), 'steps': torch.tensor([7])}}
    NonFiniteLossHook().before_save_checkpoint(FakeRunner, good)

    bad = {'state_dict': {'w': torch.tensor([1.0, float('nan')]), 'b': torch.ones(1)}}
    with pytest.raises(NonFiniteLossError) as info:
        NonFiniteLossHook().before_save_checkpoint(FakeRunner, bad)
    assert 'the weights at iteration 12 (epoch 3) hold NaN or infinite values (w)' in str(
        info.value
    )
    assert 'the last good checkpoint is wd/epoch_2.pth' in str(info.value)


def test_base_runtime_uses_the_atomic_hook_and_the_nan_hook():
    from mmengine.config import Config
    from mmtl_testing import REPO_ROOT

    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.non_finite_loss == dict(type='NonFiniteLossHook')


def test_nan_advice_with_several_optimizers_names_a_lower_lr():
    """A config with one optimizer per part (an OptimWrapperDict) has no optim_wrapper.optimizer:
    the advice takes the lr of the first built optimizer instead of failing on the dict."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.optim import OptimWrapper, OptimWrapperDict

    def wrapper(lr):
        optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=lr)
        optimizer.param_groups[0]['initial_lr'] = lr
        return OptimWrapper(optimizer)

    runner = SimpleNamespace(
        cfg=Config(dict(optim_wrapper=dict(backbone=dict(), head=dict()))),
        optim_wrapper=OptimWrapperDict(backbone=wrapper(0.01), head=wrapper(0.1)),
    )
    assert 'optim_wrapper.optimizer.lr=0.001' in NonFiniteLossHook._advice(runner)
