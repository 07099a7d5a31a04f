"""Stop training cleanly on SIGTERM / SIGINT, with a checkpoint to resume from."""

import os
import signal
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.optim import BaseOptimWrapper

from mmtl.registry import HOOKS
from mmtl.utils.signals import StopRequest, exit_code_of, parent_exited

from .atomic_checkpoint_hook import INTERRUPTED_TMPL, AtomicCheckpointHook


class TrainingInterrupted(SystemExit):
    """Training stopped on a signal after writing a checkpoint; ``code`` is 128 + signal."""


@HOOKS.register_module()
class GracefulStopHook(Hook):
    """On SIGTERM or SIGINT (on any rank), or when the parent process has exited, finish the
    iteration, save ``interrupted_iter_<N>.pth`` and exit with 128 + the signal number;
    ``--resume`` continues with the next batch.

    Args:
        stop_with_parent (bool): Stop when the parent process has exited (checked after
            every iteration). Defaults to True.
    """

    priority = 'LOWEST'  # after the scheduler, logger and checkpoint hooks of the iteration

    def __init__(self, stop_with_parent: bool = True) -> None:
        self.stop_with_parent = stop_with_parent
        self._parent = os.getppid()
        self.request: Optional[StopRequest] = None
        self._logger = None

    def before_run(self, runner) -> None:
        if not isinstance(runner.optim_wrapper, BaseOptimWrapper):
            return  # runner.test() / val(): the signals keep their usual meaning
        self._logger = runner.logger
        self.request = StopRequest(on_signal=self._note)
        self.request.install()

    def pending(self) -> bool:
        """Whether a stop is due: a stop signal came, or the parent process has exited."""
        if not self.request.requested and self.stop_with_parent and parent_exited(self._parent):
            self.request.signum = signal.SIGTERM
            self._note(signal.SIGTERM, 'the parent process exited')
        return self.request.requested

    def _note(self, signum: int, why: str = '') -> None:
        name = signal.Signals(signum).name
        self._logger.warning(
            f'{why or name + " received"}: stopping after this iteration with a checkpoint '
            f'(SIGKILL stops at once, without one)'
        )

    def _stop_signal(self) -> int:
        signum = self.request.signum if self.pending() else 0
        if get_world_size() > 1:
            flag = torch.tensor([signum], dtype=torch.int64)
            all_reduce(flag, op='max')
            signum = int(flag.item())
        return signum

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        signum = self._stop_signal()
        if not signum:
            return
        path = self._save(runner)
        name = signal.Signals(signum).name
        runner.logger.warning(
            f'Stopped by {name} after iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
            f'batch {batch_idx + 1} of {len(runner.train_dataloader)}); checkpoint {path}. '
            f'Continue with --resume.'
        )
        raise TrainingInterrupted(exit_code_of(signum))

    @staticmethod
    def _save(runner) -> str:
        for hook in runner.hooks:
            if isinstance(hook, AtomicCheckpointHook):
                return hook.save_interrupted(runner)
        filename = INTERRUPTED_TMPL.format(runner.iter + 1)
        runner.save_checkpoint(runner.work_dir, filename, by_epoch=False)
        return os.path.join(runner.work_dir, filename)

    def after_run(self, runner) -> None:
        self.on_exit(runner)

    def on_exit(self, runner) -> None:
        """Put the signal handlers back, also when training failed (see MMTLRunner.train)."""
        if self.request is not None:
            self.request.restore()
