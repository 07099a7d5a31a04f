"""Stopping a training run with SIGTERM / SIGINT and resuming it.

Through ``tools/train.py``, ``mim train`` and ``tools/dist_train.sh``: the run stops after the
iteration in which the signal came, writes ``interrupted_iter_<N>.pth`` atomically, exits
non-zero, and ``--resume`` continues with the next batch to the planned final epoch.

To hit the middle of an epoch deterministically, a helper hook (loaded with
``custom_imports``) waits at the end of iteration ``STOP_AT`` until the signal has arrived,
after writing its pid to a marker file that the test waits for.
"""

import glob
import os
import os.path as osp
import pty
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env
from mmtl_testing.images import TINY_DIGITS_PER_CLASS

from mmtl.utils import safe_torch_load

pytestmark = pytest.mark.slow

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
EPOCHS = 2
PER_CLASS = TINY_DIGITS_PER_CLASS  # the tiny_digits fixture (tests/test_engine/conftest.py)
BATCH = 4
ITERS_PER_EPOCH = 3 * PER_CLASS // BATCH  # 3
STOP_AT = 5  # iterations done when the signal comes: epoch 2, batch 2 of 3

WAIT_MODULE = """
import os
import signal
import time

from mmengine.hooks import Hook

from mmtl.registry import HOOKS


@HOOKS.register_module(force=True)
class WaitForSignal(Hook):
    priority = 'NORMAL'  # before GracefulStopHook (LOWEST) in the same iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 != int(os.environ['STOP_AT']):
            return
        stop = next(h for h in runner.hooks if type(h).__name__ == 'GracefulStopHook')
        with open(os.environ['STOP_MARKER'] + '.%d' % runner.rank, 'w') as f:
            f.write(str(os.getpid()))
        if os.environ.get('STOP_RANK') == str(runner.rank):
            os.kill(os.getpid(), signal.SIGSTOP)  # this rank hangs
        deadline = time.monotonic() + 120
        hang = os.environ.get('STOP_RANK') is not None
        while not hang and not stop.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
"""


@pytest.fixture
def setup(tmp_path, tiny_digits):
    helpers = tmp_path / 'helpers'
    helpers.mkdir()
    (helpers / 'wait_for_signal.py').write_text(WAIT_MODULE)
    config = helpers / 'digits_waiting.py'
    config.write_text(
        f'_base_ = [{DIGITS_CONFIG!r}]\n'
        "custom_imports = dict(imports=['wait_for_signal'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='WaitForSignal')]\n"
    )
    marker = str(tmp_path / 'waiting')
    path = os.pathsep.join([osp.dirname(sys.executable), os.environ.get('PATH', '')])
    env = tool_env(str(tmp_path), PATH=path)
    wait_env = dict(env, PYTHONPATH=str(helpers), STOP_AT=str(STOP_AT), STOP_MARKER=marker)
    return dict(config=str(config), marker=marker, env=env, wait_env=wait_env, tmp=tmp_path)


def options(data_root):
    return [
        '--cfg-options',
        f'data_root={data_root}',
        'model.head.num_classes=3',
        f'train_cfg.max_epochs={EPOCHS}',
        f'train_dataloader.batch_size={BATCH}',
        'default_hooks.logger.interval=1',
        *NO_WORKERS,
    ]


def start(command, setup):
    return subprocess.Popen(
        command,
        cwd=str(setup['tmp']),
        env=setup['wait_env'],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_marker(marker, process, ranks=1):
    paths = [f'{marker}.{rank}' for rank in range(ranks)]
    deadline = time.monotonic() + 300
    while not all(osp.exists(p) for p in paths) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.05)
    time.sleep(0.2)  # the pid is written
    return [int(open(p).read()) for p in paths]


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=120):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def check_stopped_then_resume(work_dir, setup, resume_command):
    """The interrupted checkpoint is complete and resumable; resuming ends at EPOCHS."""
    path = osp.join(work_dir, f'interrupted_iter_{STOP_AT}.pth')
    assert osp.isfile(path), os.listdir(work_dir)
    meta = safe_torch_load(path)['meta']
    assert (meta['epoch'], meta['iter']) == (STOP_AT // ITERS_PER_EPOCH, STOP_AT)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == path
    assert glob.glob(osp.join(work_dir, '.*.tmp')) == []

    resumed = run_command(resume_command, cwd=str(setup['tmp']), env=setup['env'])
    assert resumed.returncode == 0, describe(resumed)
    log = resumed.stdout + resumed.stderr
    done = STOP_AT % ITERS_PER_EPOCH
    assert f'Resuming inside epoch {STOP_AT // ITERS_PER_EPOCH + 1}: batches 1-{done}' in log
    final = safe_torch_load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))['meta']
    # Without skipping the trained batches, mmengine would run the whole epoch again.
    assert (final['epoch'], final['iter']) == (EPOCHS, EPOCHS * ITERS_PER_EPOCH)
    assert not osp.exists(path), 'the interrupted checkpoint goes once a newer one exists'
    return log


def test_sigterm_to_train_py_stops_with_a_checkpoint_and_resumes(setup, tiny_digits):
    work_dir = str(setup['tmp'] / 'wd')
    train = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py')]
    process = start([*train, setup['config'], '--work-dir', work_dir, *options(tiny_digits)], setup)
    (trainer,) = wait_for_marker(setup['marker'], process)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert f'Stopped by SIGTERM after iteration {STOP_AT} (epoch 2, batch 2 of 3)' in output
    assert wait_gone(trainer)
    check_stopped_then_resume(
        work_dir,
        setup,
        [*train, DIGITS_CONFIG, '--work-dir', work_dir, '--resume', *options(tiny_digits)],
    )


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signal_to_mim_stops_the_trainer_too(setup, tiny_digits, signum):
    # mim dies on SIGTERM without passing it on, and SIGKILLs its child on SIGINT: the
    # trainer must still stop cleanly, not run on as an orphan.
    mim = shutil.which('mim', path=setup['env']['PATH'])
    work_dir = str(setup['tmp'] / 'wd')
    process = start(
        [mim, 'train', 'mmtl', setup['config'], '--work-dir', work_dir, *options(tiny_digits)],
        setup,
    )
    (trainer,) = wait_for_marker(setup['marker'], process)
    process.send_signal(signum)
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert wait_gone(trainer), 'the trainer outlived mim'
    if signum == signal.SIGINT:  # the same checkpoint; resuming is tested with SIGTERM
        path = osp.join(work_dir, f'interrupted_iter_{STOP_AT}.pth')
        assert safe_torch_load(path)['meta']['iter'] == STOP_AT
        return
    resume = ['--work-dir', work_dir, '--resume', *options(tiny_digits)]
    check_stopped_then_resume(work_dir, setup, [mim, 'train', 'mmtl', DIGITS_CONFIG, *resume])


#: The session leader of the test's terminal, as an interactive shell: it runs the command as
#: the terminal's foreground process group and outlives it (a session leader's exit would
#: send SIGHUP to that group).
SHELL = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
job = subprocess.Popen(sys.argv[1:], process_group=0)
os.tcsetpgrp(0, job.pid)
print('JOB EXIT', job.wait(), flush=True)
time.sleep(3600)
"""


class Terminal:
    """``command`` as the foreground job of a new pseudo-terminal, its output collected."""

    def __init__(self, command, cwd, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(cwd)
                os.execve(sys.executable, [sys.executable, '-c', SHELL, *command], env)
            finally:
                os._exit(127)
        self.chunks = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # every process holding the terminal has exited
                return
            if not data:
                return
            self.chunks.append(data)

    @property
    def output(self):
        return b''.join(self.chunks).decode(errors='replace')

    def close(self):
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.reader.join(timeout=10)
        os.close(self.fd)


def test_ctrl_c_at_a_terminal_under_mim_with_dataloader_workers(setup, tiny_digits):
    # A Ctrl-C reaches every process of the terminal's foreground group: mim, the trainer
    # and its dataloader workers. The workers must not die of it (the trainer would crash
    # with "DataLoader worker ... killed by signal: Interrupt"), and mim's SIGKILL of its
    # child must not cost the checkpoint.
    mim = shutil.which('mim', path=setup['env']['PATH'])
    work_dir = str(setup['tmp'] / 'wd')
    opts = [o for o in options(tiny_digits) if o != 'train_dataloader.num_workers=0']
    opts.append('train_dataloader.num_workers=2')
    command = [mim, 'train', 'mmtl', setup['config'], '--work-dir', work_dir, *opts]
    terminal = Terminal(command, str(setup['tmp']), setup['wait_env'])
    try:
        deadline = time.monotonic() + 300
        marker = setup['marker'] + '.0'
        while not osp.exists(marker) and time.monotonic() < deadline:
            assert 'JOB EXIT' not in terminal.output, terminal.output[-3000:]
            time.sleep(0.05)
        time.sleep(0.2)  # the pid is written
        trainer = int(open(marker).read())
        os.write(terminal.fd, b'\x03')  # Ctrl-C
        assert wait_gone(trainer), 'the trainer did not stop'
        while 'JOB EXIT' not in terminal.output and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        terminal.close()
    output = terminal.output
    assert 'Traceback' not in output, output[-3000:]
    assert f'Stopped by SIGINT after iteration {STOP_AT} (epoch 2, batch 2 of 3)' in output
    path = osp.join(work_dir, f'interrupted_iter_{STOP_AT}.pth')
    assert safe_torch_load(path)['meta']['iter'] == STOP_AT


def test_sigterm_to_dist_train_stops_every_rank_at_the_same_iteration(setup, tiny_digits):
    from mmtl_testing import free_port

    setup['wait_env']['PORT'] = str(free_port())
    work_dir = str(setup['tmp'] / 'wd')
    dist = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh')]
    # 2 processes x 2 images: 3 iterations per epoch as with one process and 4 images.
    opts = options(tiny_digits)
    opts[opts.index(f'train_dataloader.batch_size={BATCH}')] = 'train_dataloader.batch_size=2'
    process = start([*dist, setup['config'], '2', '--work-dir', work_dir, *opts], setup)
    pids = wait_for_marker(setup['marker'], process, ranks=2)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=180)[0]
    assert process.returncode != 0, output[-3000:]
    assert all(wait_gone(pid) for pid in pids)
    setup['env']['PORT'] = str(free_port())
    check_stopped_then_resume(
        work_dir, setup, [*dist, DIGITS_CONFIG, '2', '--work-dir', work_dir, '--resume', *opts]
    )


def test_a_hung_rank_stops_the_others_within_the_timeout(setup, tiny_digits):
    from mmtl_testing import free_port

    timeout = 10
    setup['wait_env'].update(PORT=str(free_port()), STOP_RANK='1', MMTL_DIST_TIMEOUT=str(timeout))
    work_dir = str(setup['tmp'] / 'wd')
    opts = options(tiny_digits)
    opts[opts.index(f'train_dataloader.batch_size={BATCH}')] = 'train_dataloader.batch_size=2'
    dist = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh')]
    process = start([*dist, setup['config'], '2', '--work-dir', work_dir, *opts], setup)
    rank0, rank1 = wait_for_marker(setup['marker'], process, ranks=2)
    hung_at = time.monotonic()
    try:
        assert wait_gone(rank0, timeout=timeout + 60)
        waited = time.monotonic() - hung_at
        output = process.communicate(timeout=120)[0]
    finally:
        if alive(rank1):  # SIGSTOPped: it may outlive torchrun
            os.kill(rank1, signal.SIGKILL)
    assert waited < timeout + 30, f'rank 0 waited {waited:.0f} s for the hung rank'
    assert process.returncode != 0
    assert f'Timed out waiting {timeout * 1000}ms' in output, output[-3000:]
