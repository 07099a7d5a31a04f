"""The terminal: a quiet console (:func:`quiet_console`: warnings, a header, one line per
validation, the summary; the work dir's log keeps every line) and, in an interactive
terminal, a progress bar per epoch instead of the training log lines."""

import logging
import os
import re
import sys
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmtl.registry import HOOKS

from .test_best_checkpoint_hook import best_checkpoint_of

#: Environment variables set by CI services; a bar there would only fill the log.
CI_VARIABLES = ('CI', 'GITHUB_ACTIONS', 'GITLAB_CI', 'JENKINS_URL', 'BUILDKITE', 'TF_BUILD')


def interactive_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stdout) is a terminal, outside CI."""
    stream = stream or sys.stdout
    if any(os.environ.get(name) for name in CI_VARIABLES):
        return False
    return bool(getattr(stream, 'isatty', lambda: False)())


#: Beginnings of the INFO lines shown on a quiet console (warnings and errors always are).
CONSOLE_INFO_PREFIXES = (
    'precision:',
    'Small dataset',
    'Batch:',
    'Training data:',
    'Checkpoints will be saved to',
    'Effective lr per parameter group',
    'The lr schedule starts',
    'class_weight=auto',
    'Load checkpoint from',
    'checkpoint weights:',  # what load_from gave the model (the head swap named as such)
    'Checkpoints carry no model card',
    'resumed epoch',
    'Resuming inside epoch',
    'resume:',
    'removed ',
    'Warm-up:',
    'GradualUnfreezeHook',
    'Epoch(val)',
    'Epoch(test)',
    'Test figures with',  # the test figures' intervals table (any confidence)
    'The best checkpoint',
    'Stopped by',
    'the monitored metric did not improve',  # early stopping, and why
    'Stopping threshold reached',
    'Testing ',
    'test metrics written',
    'Finished',
)
#: mmengine's warnings about its own internals, left out of a quiet console.
IRRELEVANT_WARNINGS = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)
#: A metric field of an ``Epoch(val|test)`` line: ``name: value`` up to the next field.
_FIELD = re.compile(r'(?:^|  )(\S+): (.*?)(?=  \S+: |$)', re.S)


def short_metrics_line(text: str, longest: int = 24) -> str:
    """``Epoch(test) ...`` with the scalar metrics only (no tensors, curves or lists).

    Args:
        text (str): A log message.
        longest (int): Longest value shown. Defaults to 24 characters.

    Returns:
        str: ``text`` itself unless it is an ``Epoch(val)`` / ``Epoch(test)`` line.
    """
    head, sep, rest = text.partition(']')
    if not sep or not head.lstrip().startswith(('Epoch(val)', 'Epoch(test)')):
        return text
    head += sep
    if rest.startswith('['):  # Epoch(val) [1][1/1]
        more, _, rest = rest.partition(']')
        head += more + ']'
    fields = [
        f'{name}: {value.strip()}'
        for name, value in _FIELD.findall(rest.strip())
        if '\n' not in value and len(value.strip()) <= longest
    ]
    return '  '.join([head, *fields])


class QuietConsole(logging.Filter):
    """Let a console handler show only warnings and the :data:`CONSOLE_INFO_PREFIXES` lines.

    Args:
        train_lines (bool): Also show the ``Epoch(train)`` lines. Defaults to True.
    """

    def __init__(self, train_lines: bool = True) -> None:
        super().__init__()
        self.train_lines = train_lines

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg).lstrip()
        if record.levelno >= logging.WARNING:
            return not message.startswith(IRRELEVANT_WARNINGS)
        if message.startswith('Epoch(train)'):
            return self.train_lines
        return message.startswith(CONSOLE_INFO_PREFIXES)


class _ShortMetricsFormatter(logging.Formatter):
    """Formats metric lines with :func:`short_metrics_line`."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        short = logging.makeLogRecord(record.__dict__)
        short.msg, short.args = short_metrics_line(record.getMessage()), None
        return self.inner.format(short)


def quiet_console(logger: logging.Logger) -> None:
    """Make the console handlers of ``logger`` quiet (see :class:`QuietConsole`).

    Args:
        logger (logging.Logger): The runner's logger (mmengine's ``MMLogger``).
    """
    train_lines = not interactive_terminal()
    for handler in logger.handlers:
        if type(handler) is not logging.StreamHandler:  # FileHandler is a StreamHandler too
            continue
        if not any(isinstance(f, QuietConsole) for f in handler.filters):
            handler.addFilter(QuietConsole(train_lines))
            handler.setFormatter(_ShortMetricsFormatter(handler.formatter or logging.Formatter()))


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A rich progress bar (iterations, ETA, loss) per training epoch, on rank 0 in an
    interactive terminal; after training, one summary line.

    Args:
        enabled (bool, optional): Force the bar on or off. Defaults to None: on in an
            interactive terminal.
    """

    priority = 'VERY_LOW'

    def __init__(self, enabled: Optional[bool] = None) -> None:
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._val = ''
        self._trained = False

    def before_train_epoch(self, runner) -> None:
        wanted = interactive_terminal() if self.enabled is None else self.enabled
        if not (wanted and is_main_process()):
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
                TextColumn('{task.fields[status]}'),
                transient=False,
            )
            self._progress.start()
        total = len(runner.train_dataloader)
        self._task = self._progress.add_task(
            f'epoch {runner.epoch + 1}/{runner.max_epochs}', total=total, status=self._val
        )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._progress is not None and self._task is not None:
            loss = (outputs or {}).get('loss')
            status = f'loss {float(loss):.4g}' if loss is not None else ''
            status = '  '.join(part for part in (status, self._val) if part)
            self._progress.update(self._task, advance=1, status=status)

    def after_val_epoch(self, runner, metrics=None) -> None:
        for name, value in (metrics or {}).items():
            if isinstance(value, (int, float)):
                self._val = f'val {name} {value:.4g}'
                return

    def after_train_epoch(self, runner) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total)
            self._task = None

    def after_train(self, runner) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._trained = True

    def after_run(self, runner) -> None:
        if not self._trained or not is_main_process():
            return
        self._trained = False
        best = best_checkpoint_of(runner)
        score = runner.message_hub.get_info('best_score')
        best_text = f'best checkpoint {best}' + (f' ({score:.4g})' if score is not None else '')
        log_file = os.path.join(runner.log_dir, f'{runner.timestamp}.log')
        runner.logger.info(
            f'Finished {runner.epoch} epochs ({runner.iter} iterations): '
            f'{best_text if best else "no best checkpoint"}; full log {log_file}'
        )
