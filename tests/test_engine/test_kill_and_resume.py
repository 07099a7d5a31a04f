"""A real training process killed with SIGKILL while it writes a checkpoint, then resumed."""

import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env
from mmtl_testing.images import TINY_DIGITS_PER_CLASS

from mmtl.utils import safe_torch_load

pytestmark = pytest.mark.slow

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
EPOCHS = 3
PER_CLASS = TINY_DIGITS_PER_CLASS  # the tiny_digits fixture (tests/test_engine/conftest.py)
BATCH = 4

#: Imported by the killed run: the write of one checkpoint stops half-way (its first half
#: flushed to disk), leaves a marker file and waits to be killed.
STALL_MODULE = """
import contextlib
import os
import time

from mmtl.engine.hooks import atomic_checkpoint_hook

real_atomic_open = atomic_checkpoint_hook.atomic_open


class Stall:
    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        os.fsync(self.f.fileno())
        with open(os.environ['STALL_MARKER'], 'w') as marker:
            marker.write(str(os.getpid()))  # the trainer (tools/train.py runs it in a child)
        time.sleep(600)


@contextlib.contextmanager
def stalling_atomic_open(path, mode='wb'):
    with real_atomic_open(path, mode) as f:
        yield Stall(f) if os.path.basename(path) == os.environ['STALL_AT'] else f


atomic_checkpoint_hook.atomic_open = stalling_atomic_open
"""


def train_command(config, work_dir, data_root, *extra):
    return [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'),
        config,
        '--work-dir',
        work_dir,
        *extra,
        '--cfg-options',
        f'data_root={data_root}',
        'model.head.num_classes=3',
        f'train_cfg.max_epochs={EPOCHS}',
        f'train_dataloader.batch_size={BATCH}',
        'default_hooks.logger.interval=1',
        *NO_WORKERS,
    ]


def test_sigkill_during_checkpoint_write_then_resume(tmp_path, tiny_digits):
    work_dir = str(tmp_path / 'wd')
    helper_dir = tmp_path / 'helpers'
    helper_dir.mkdir()
    (helper_dir / 'stall_checkpoint_write.py').write_text(STALL_MODULE)
    config = helper_dir / 'digits_stalling.py'
    config.write_text(
        f'_base_ = [{DIGITS_CONFIG!r}]\n'
        "custom_imports = dict(imports=['stall_checkpoint_write'], allow_failed_imports=False)\n"
    )
    marker = tmp_path / 'writing_epoch_2'
    # One OpenMP thread: on a shared 2-core machine torch's spinning threads make each
    # iteration 20-50 times slower.
    env = tool_env(str(tmp_path), OMP_NUM_THREADS='1')
    stall_env = dict(
        env, PYTHONPATH=str(helper_dir), STALL_AT='epoch_2.pth', STALL_MARKER=str(marker)
    )

    # 1. Train; SIGKILL the process while epoch_2.pth is half written.
    process = subprocess.Popen(
        train_command(str(config), work_dir, tiny_digits),
        cwd=str(tmp_path),
        env=stall_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), f'the run never reached epoch 2: {process.poll()}'
    time.sleep(0.2)  # the pid is written
    os.kill(int(marker.read_text()), signal.SIGKILL)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 128 + signal.SIGKILL, output[-3000:]

    # The kill hit mid-write: half a checkpoint sits in a temporary file, not in epoch_2.pth.
    partial = glob.glob(osp.join(work_dir, '.epoch_2.pth.*.tmp'))
    assert len(partial) == 1 and os.path.getsize(partial[0]) > 0
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth')))
    assert names == ['best_accuracy_top1_epoch_1.pth', 'epoch_1.pth']
    for name in names:  # every checkpoint on disk is complete
        assert safe_torch_load(osp.join(work_dir, name))['meta']['epoch'] == 1
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work_dir, 'epoch_1.pth')

    # 2. Resume with the plain config: from epoch 1 to the same final epoch.
    resumed = run_command(
        train_command(DIGITS_CONFIG, work_dir, tiny_digits, '--resume'),
        cwd=str(tmp_path),
        env=env,
    )
    assert resumed.returncode == 0, describe(resumed)
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1' in log
    assert f'removed {partial[0]}, left by an interrupted checkpoint write' in log
    assert 'Epoch(train) [1]' not in log and f'Epoch(train) [{EPOCHS}]' in log
    iters_per_epoch = 3 * PER_CLASS // BATCH
    final = safe_torch_load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))['meta']
    assert (final['epoch'], final['iter']) == (EPOCHS, EPOCHS * iters_per_epoch)
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, 'epoch_*.pth'))) == [
        'epoch_2.pth',
        'epoch_3.pth',
    ]
    assert glob.glob(osp.join(work_dir, '.*.tmp')) == []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        safe_torch_load(path)
