"""The best checkpoint under a full disk and across resumes (AtomicCheckpointHook).

mmengine writes the epoch checkpoint a second time after each new best, only to record the
best in it: that needs the space of two more checkpoints, and when it fails the resumed run
forgets the new best and leaves it on disk for ever. Uses the toy runner of
test_checkpoint_reliability.py.
"""

import contextlib
import os.path as osp

import pytest
from mmtl_testing.toy_runner import (
    checkpoint_names,
    make_runner,
    temp_files,
)

from mmtl.engine.hooks import atomic_checkpoint_hook
from mmtl.engine.hooks.atomic_checkpoint_hook import AtomicCheckpointHook
from mmtl.utils import safe_torch_load


def resume(work_dir, epochs, scores):
    runner = make_runner(work_dir, epochs=epochs, scores=scores)
    runner._resume = True
    runner.train()
    return runner


def test_new_best_writes_each_checkpoint_once(tmp_path, monkeypatch):
    written = []
    real_atomic_open = atomic_checkpoint_hook.atomic_open

    @contextlib.contextmanager
    def counting_atomic_open(path, mode='wb'):
        written.append(osp.basename(path))
        with real_atomic_open(path, mode) as f:
            yield f

    monkeypatch.setattr(atomic_checkpoint_hook, 'atomic_open', counting_atomic_open)
    make_runner(tmp_path, epochs=2, scores=[0.5, 0.9]).train()
    checkpoints = [name for name in written if name.endswith('.pth')]
    assert sorted(checkpoints) == sorted(set(checkpoints)), checkpoints
    assert checkpoint_names(tmp_path) == ['best_score_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth']


def test_disk_full_after_a_new_best_does_not_stop_the_run(tmp_path, disk_full_at):
    # The space for one more epoch checkpoint is not there after the new best is written:
    # only mmengine's second write of epoch_2.pth needed it.
    disk_full_at('epoch_2.pth', after=1)
    make_runner(tmp_path, epochs=2, scores=[0.5, 0.9]).train()
    assert checkpoint_names(tmp_path) == ['best_score_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth']
    assert temp_files(tmp_path) == []


def test_resume_keeps_the_best_of_the_epoch_it_resumes_from(tmp_path):
    make_runner(tmp_path, epochs=2, scores=[0.5, 0.9]).train()
    runner = resume(tmp_path, epochs=3, scores=[0.7])  # 0.7 is not better than 0.9
    assert checkpoint_names(tmp_path) == ['best_score_epoch_2.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert runner.message_hub.get_info('best_score') == 0.9


def test_a_best_checkpoint_left_by_a_crash_is_no_orphan_after_resume(tmp_path, monkeypatch):
    real_remove = AtomicCheckpointHook._remove_checkpoint

    def crash_at_old_best(self, path):
        if path.endswith('best_score_epoch_1.pth'):
            raise KeyboardInterrupt('killed between writing the new best and removing the old')
        real_remove(self, path)

    monkeypatch.setattr(AtomicCheckpointHook, '_remove_checkpoint', crash_at_old_best)
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path, epochs=2, scores=[0.5, 0.9]).train()
    monkeypatch.setattr(AtomicCheckpointHook, '_remove_checkpoint', real_remove)
    assert 'best_score_epoch_1.pth' in checkpoint_names(tmp_path)

    resume(tmp_path, epochs=4, scores=[0.7, 0.95])
    assert checkpoint_names(tmp_path) == ['best_score_epoch_4.pth', 'epoch_3.pth', 'epoch_4.pth']
    best = safe_torch_load(str(tmp_path / 'best_score_epoch_4.pth'))
    assert best['message_hub']['runtime_info']['best_score'] == 0.95
