"""StopRequest: what a caught stop signal means in this process and in processes it forks."""

import multiprocessing
import os
import os.path as osp
import signal
import time

import pytest
from mmengine.hooks import Hook
from mmtl_testing import NO_WORKERS, REPO_ROOT

from mmtl.registry import HOOKS
from mmtl.utils.signals import StopRequest

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def _sleep_forever() -> None:
    time.sleep(60)


def test_forked_children_still_die_on_sigterm():
    # Dataloader workers and scan pools are forked while a trainer catches SIGTERM; they must
    # keep SIGTERM's usual meaning, or terminating them (pool exit, worker shutdown) hangs.
    request = StopRequest()
    assert request.install()
    try:
        child = multiprocessing.get_context('fork').Process(target=_sleep_forever)
        child.start()
        time.sleep(0.2)
        child.terminate()
        child.join(timeout=10)
        alive = child.exitcode is None
        if alive:
            child.kill()
            child.join()
        assert not alive, 'a forked child ignored SIGTERM'
        assert child.exitcode == -signal.SIGTERM
        assert request.signum is None  # the child's signal was not recorded here
    finally:
        request.restore()


def test_forked_children_ignore_sigint():
    # A Ctrl-C reaches every process of the terminal's foreground group: dataloader workers
    # that died of it would crash the trainer that is about to save its checkpoint.
    request = StopRequest()
    assert request.install()
    try:
        child = multiprocessing.get_context('fork').Process(target=_sleep_forever)
        child.start()
        time.sleep(0.2)
        os.kill(child.pid, signal.SIGINT)
        child.join(timeout=1)
        survived = child.is_alive()
        child.terminate()
        child.join(timeout=10)
        assert survived, f'a forked child died of SIGINT (exit code {child.exitcode})'
        assert request.signum is None
    finally:
        request.restore()


def test_the_installing_process_records_the_signal_and_keeps_running():
    before = signal.getsignal(signal.SIGTERM)
    request = StopRequest()
    assert request.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.time() + 5
        while request.signum is None and time.time() < deadline:
            time.sleep(0.01)
        assert request.signum == signal.SIGTERM
    finally:
        request.restore()
    assert signal.getsignal(signal.SIGTERM) == before


class FailingTestHook(Hook):
    """Raises in the first training iteration, as a crashing training would."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        raise RuntimeError('training failed on purpose')


def test_signal_handlers_come_back_when_training_fails(tmp_path, digits_root):
    # In a notebook, a failed runner.train() must not leave Ctrl-C only "noted".
    from mmtl.apis.runner_setup import build_runner, prepare_train_config
    from mmtl.utils.run_args import train_parser

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    options = [f'data_root={digits_root}', 'model.head.num_classes=3', *NO_WORKERS]
    options += ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=8']
    args = train_parser().parse_args(
        [DIGITS, '--work-dir', str(tmp_path), '--cfg-options', *options]
    )
    cfg = prepare_train_config(args)
    HOOKS.register_module(module=FailingTestHook, force=True)
    cfg.custom_hooks = [dict(type='FailingTestHook')]
    runner = build_runner(cfg)
    with pytest.raises(RuntimeError, match='on purpose'):
        runner.train()
    after = {signum: signal.getsignal(signum) for signum in before}
    assert after == before
