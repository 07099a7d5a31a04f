"""A progress bar with ETA per training epoch, in an interactive terminal only."""

import os
import sys
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmtl.registry import HOOKS

#: Environment variables set by CI services; a bar there would only fill the log.
CI_VARIABLES = ('CI', 'GITHUB_ACTIONS', 'GITLAB_CI', 'JENKINS_URL', 'BUILDKITE', 'TF_BUILD')


def interactive_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stdout) is a terminal a person watches (not CI, not a file)."""
    stream = stream or sys.stdout
    if any(os.environ.get(name) for name in CI_VARIABLES):
        return False
    return bool(getattr(stream, 'isatty', lambda: False)())


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show a rich progress bar (iterations, rate, ETA) for each training epoch.

    Only on rank 0 and only when stdout is an interactive terminal (not a pipe, a file or
    CI); everywhere else it does nothing and the log keeps its plain lines. The log lines
    still print, above the bar.

    Args:
        enabled (bool, optional): Force the bar on or off. Defaults to None: on in an
            interactive terminal.
    """

    priority = 'VERY_LOW'

    def __init__(self, enabled: Optional[bool] = None) -> None:
        self.enabled = enabled
        self._progress = None
        self._task = None

    def _active(self) -> bool:
        wanted = interactive_terminal() if self.enabled is None else self.enabled
        return wanted and is_main_process()

    def before_train_epoch(self, runner) -> None:
        if not self._active():
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self._progress is None:
            self._progress = Progress(
                TextColumn('[bold]{task.description}'),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn('ETA'),
                TimeRemainingColumn(),
                transient=False,
            )
            self._progress.start()
        total = len(runner.train_dataloader)
        self._task = self._progress.add_task(
            f'epoch {runner.epoch + 1}/{runner.max_epochs}', total=total
        )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def after_train_epoch(self, runner) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total)
            self._task = None

    def after_train(self, runner) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
