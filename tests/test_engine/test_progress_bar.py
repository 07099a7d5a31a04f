"""The per-epoch progress bar: on in an interactive terminal only, complete after each epoch."""

import io

import pytest

from mmtl.engine.hooks import progress_bar_hook
from mmtl.engine.hooks.progress_bar_hook import ProgressBarHook, interactive_terminal


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Runner:
    def __init__(self, iters: int, epochs: int):
        self.train_dataloader = list(range(iters))
        self.max_epochs, self.epoch = epochs, 0


def test_interactive_only_on_a_terminal_outside_ci(monkeypatch):
    for name in progress_bar_hook.CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert interactive_terminal(_Terminal()) and not interactive_terminal(io.StringIO())
    monkeypatch.setenv('CI', 'true')
    assert not interactive_terminal(_Terminal())


def test_bar_counts_each_iteration_and_completes_the_epoch():
    hook, runner = ProgressBarHook(enabled=True), _Runner(iters=5, epochs=2)
    hook.before_train_epoch(runner)
    for i in range(3):
        hook.after_train_iter(runner, i)
    task = hook._progress.tasks[-1]
    assert (task.completed, task.total, task.description) == (3, 5, 'epoch 1/2')
    hook.after_train_epoch(runner)  # an epoch cut short still shows as done
    assert hook._progress.tasks[-1].finished
    runner.epoch = 1
    hook.before_train_epoch(runner)
    assert hook._progress.tasks[-1].description == 'epoch 2/2'
    hook.after_train(runner)
    assert hook._progress is None


@pytest.mark.parametrize('enabled', [None, False])
def test_no_bar_in_logs(enabled, monkeypatch):
    monkeypatch.setattr(progress_bar_hook, 'interactive_terminal', lambda stream=None: False)
    hook, runner = ProgressBarHook(enabled=enabled), _Runner(iters=2, epochs=1)
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0)
    hook.after_train_epoch(runner)
    assert hook._progress is None
