"""Two trainings into one work dir, and ``--resume`` with another optimizer.

Both trainings exited 0 and the second silently replaced the first one's checkpoints; resuming
an SGD run with Adam (or the reverse) crashed at the first step with ``KeyError: 'betas'``
(``'momentum'``). Both are refused in one line before any training step.
"""

import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmtl_testing import tool_status
from mmtl_testing.toy_runner import ToyData, ToyModel, checkpoint_names

from mmtl.engine.runner import MMTLRunner


def toy_runner(work_dir, optimizer=None, resume=False, epochs=1):
    return MMTLRunner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2
        ),
        optim_wrapper=dict(optimizer=optimizer or dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1)),
        default_scope='mmtl',
        log_level='WARNING',
        resume=resume,
        experiment_name=f'toy-{uuid.uuid4().hex}',
    )


# ------------------------------------------------------------------------------ work dir lock

HOLD = textwrap.dedent(
    """
    import sys, time
    from mmtl.engine.work_dir_lock import lock_work_dir
    lock = lock_work_dir(sys.argv[1])
    print('held', flush=True)
    time.sleep(600)
    """
)


def test_a_held_work_dir_is_refused_before_any_step_until_its_holder_dies(tmp_path):
    from mmtl.engine.work_dir_lock import WorkDirBusyError

    work_dir = tmp_path / 'work'
    child = subprocess.Popen(
        [sys.executable, '-c', HOLD, str(work_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == 'held'  # as a running training holds it
        with pytest.raises(WorkDirBusyError, match=f'another training \\(pid {child.pid},'):
            toy_runner(work_dir).train()
        assert checkpoint_names(work_dir) == []  # nothing of the first run replaced
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    toy_runner(work_dir).train()  # the kernel released the lock with the killed process
    assert checkpoint_names(work_dir) == ['epoch_1.pth']


def test_a_second_hold_in_the_same_process_does_not_end_the_first(tmp_path):
    """mmtl.fit locks before it builds the Runner and MMTLRunner.train locks again: the
    runner's release must leave the work dir held (record locks belong to the process)."""
    from mmtl.engine.work_dir_lock import lock_work_dir

    work_dir = str(tmp_path / 'work')
    first = lock_work_dir(work_dir)
    lock_work_dir(work_dir).release()
    other = subprocess.run(
        [sys.executable, '-c', HOLD.replace('time.sleep(600)', ''), work_dir],
        capture_output=True,
        text=True,
    )
    assert 'WorkDirBusyError' in other.stderr and 'held' not in other.stdout
    first.release()
    lock_work_dir(work_dir).release()  # free again, and taken again by this process


def test_trainings_one_after_the_other_share_a_work_dir(tmp_path):
    toy_runner(tmp_path, epochs=1).train()
    toy_runner(tmp_path, epochs=2, resume=True).train()  # released at the end of the first
    assert checkpoint_names(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']


TRY_LOCK = textwrap.dedent(
    """
    import fcntl, sys
    with open(sys.argv[1], 'a+') as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print('held')
        else:
            print('free')
    """
)


def test_forked_workers_that_outlive_the_training_do_not_hold_the_work_dir(tmp_path):
    import multiprocessing
    import time

    from mmtl.engine.work_dir_lock import LOCK_FILE, lock_work_dir

    def probe():
        command = [sys.executable, '-c', TRY_LOCK, str(tmp_path / LOCK_FILE)]
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()

    lock = lock_work_dir(str(tmp_path))
    worker = multiprocessing.get_context('fork').Process(target=time.sleep, args=(60,))
    worker.start()  # as a dataloader worker: forked while the lock is held
    try:
        assert probe() == 'held'
        lock.release()
        assert probe() == 'free'
    finally:
        worker.kill()
        worker.join()


def test_only_the_main_process_of_a_distributed_run_takes_the_lock(tmp_path, monkeypatch):
    from mmtl.engine import work_dir_lock

    first = work_dir_lock.lock_work_dir(str(tmp_path))
    monkeypatch.setattr(work_dir_lock, 'is_main_process', lambda: False)
    other_rank = work_dir_lock.lock_work_dir(str(tmp_path))  # no refusal: holds nothing
    other_rank.release()
    first.release()


# ------------------------------------------------------------------------ resume's optimizer

ADAM = dict(type='Adam', lr=0.001)
SGD = dict(type='SGD', lr=0.01, momentum=0.9)


@pytest.mark.parametrize(
    ('saved', 'resumed', 'message'),
    [
        (SGD, ADAM, r'saved by SGD, the config has Adam, which needs betas, eps'),
        (ADAM, SGD, r'saved by Adam or AdamW, the config has SGD, which needs .*momentum'),
    ],
)
def test_resuming_with_another_optimizer_is_refused_naming_both(tmp_path, saved, resumed, message):
    from mmtl.engine.resume_check import ResumeOptimizerError

    toy_runner(tmp_path, saved).train()
    runner = toy_runner(tmp_path, resumed, resume=True, epochs=2)
    with pytest.raises(ResumeOptimizerError, match=message) as error:
        runner.train()
    assert 'epoch_1.pth' in str(error.value) and '\n' not in str(error.value)
    assert checkpoint_names(tmp_path) == ['epoch_1.pth']  # refused before any step


def test_resuming_with_the_same_optimizer_or_adamw_for_adam_works(tmp_path):
    toy_runner(tmp_path, ADAM).train()
    toy_runner(tmp_path, dict(type='AdamW', lr=0.001), resume=True, epochs=2).train()
    assert checkpoint_names(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']


def wrapper(optimizer_type, groups=1, **kwargs):
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in range(groups)]
    optimizer = optimizer_type([{'params': [p]} for p in params], lr=0.1, **kwargs)
    return OptimWrapper(optimizer)


def test_other_parameter_groups_are_refused_with_their_counts():
    from mmtl.engine.resume_check import ResumeOptimizerError, check_resumable_optimizer

    saved = {'optimizer': wrapper(torch.optim.SGD, groups=2).state_dict()}
    with pytest.raises(ResumeOptimizerError, match='has 2 parameter groups, the config.s SGD 1'):
        check_resumable_optimizer(saved, wrapper(torch.optim.SGD), 'a.pth')
    check_resumable_optimizer(saved, wrapper(torch.optim.SGD, groups=2), 'a.pth')  # fits


def test_each_optimizer_of_a_wrapper_dict_is_checked_by_name():
    from mmtl.engine.resume_check import ResumeOptimizerError, check_resumable_optimizer

    saved = {'optimizer': {'generator': wrapper(torch.optim.SGD).state_dict()}}
    wrappers = OptimWrapperDict(generator=wrapper(torch.optim.RMSprop))
    with pytest.raises(ResumeOptimizerError, match="optimizer 'generator' .* saved by SGD"):
        check_resumable_optimizer(saved, wrappers, 'a.pth')


def test_a_checkpoint_without_optimizer_state_resumes():
    from mmtl.engine.resume_check import check_resumable_optimizer

    check_resumable_optimizer({}, wrapper(torch.optim.Adam), osp.join('x', 'a.pth'))


def test_a_held_work_dir_is_refused_before_the_runner_writes_into_it(tmp_path, capsys):
    from mmtl_testing import REPO_ROOT, import_tool, write_color_folder

    write_color_folder(str(tmp_path / 'data'), {'a': (255, 0, 0), 'b': (0, 0, 255)}, 2)
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/mobilenet-v2_digits.py']\n"
        f"data_root = '{tmp_path}/data'\nmodel = dict(head=dict(num_classes=2))\n"
        'train_dataloader = dict(dataset=dict(classes=None))\n'
        'val_dataloader = dict(dataset=dict(classes=None))\n'
        'test_dataloader = dict(dataset=dict(classes=None))\n'
    )
    work_dir = tmp_path / 'work'
    child = subprocess.Popen(
        [sys.executable, '-c', HOLD, str(work_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == 'held'
        code = tool_status(
            import_tool('tools/train.py').main, [str(config), '--work-dir', str(work_dir)]
        )
    finally:
        child.kill()
        child.wait()
    assert code == 1
    assert 'is in use by another training' in capsys.readouterr().err
    assert os.listdir(work_dir) == ['.mmtl-train.lock']  # no config dump, no log folder


def test_a_config_refused_while_the_runner_is_built_leaves_no_work_dir(tmp_path, capsys):
    from mmtl_testing import REPO_ROOT, import_tool, write_color_folder

    write_color_folder(str(tmp_path / 'data'), {'a': (255, 0, 0), 'b': (0, 0, 255)}, 2)
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/mobilenet-v2_digits.py']\n"
        f"data_root = '{tmp_path}/data'\nmodel = dict(head=dict(num_classes=2))\n"
        'auto_scale_lr = dict(_delete_=True, enable=True)\n'  # refused by the runner's checks
    )
    work_dir = tmp_path / 'work'
    code = tool_status(
        import_tool('tools/train.py').main, [str(config), '--work-dir', str(work_dir)]
    )
    assert code == 1
    assert 'base_batch_size' in capsys.readouterr().err
    assert not work_dir.exists()  # locked while the runner was built, then released and removed
