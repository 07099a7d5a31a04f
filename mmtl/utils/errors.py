"""mmtl's user errors: mistakes in what a user gave (a config, a data folder, a checkpoint).

Each message names the file, key or value at fault and says what to do, so the tools print
it as one line without a traceback (see :func:`mmtl.utils.cli.run_with_clear_errors`).
This module imports nothing from mmtl: every layer may raise these errors.
"""


class UserError(Exception):
    """Base of the errors caused by a user's input; the message says everything needed."""


class ConfigError(UserError, ValueError):
    """A config key or command-line value is wrong; the message names it."""


class BadDataError(UserError, ValueError):
    """A dataset holds files that cannot be read, or classes without images."""


class CheckpointError(UserError):
    """A checkpoint cannot be used: unsafe, unreadable, not downloadable or not fitting."""


class NotACheckpointError(CheckpointError, ValueError):
    """A file is no checkpoint at all (text, an image, empty, truncated)."""


class CheckpointDownloadError(CheckpointError, RuntimeError):
    """A checkpoint URL is not in the local cache and could not be downloaded."""


class TrustedCheckpointsError(CheckpointError, ValueError):
    """``MMTL_TRUSTED_CHECKPOINTS`` holds an entry that is not an absolute path."""


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first informative line of an error's message (torch's advice lines skipped).

    Args:
        err (BaseException): The error.
        limit (int): Characters kept. Defaults to 300.

    Returns:
        str: The line, or the error's type name when the message is empty.
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    useful = [
        line
        for line in lines
        if not line.startswith(('Check the documentation', 'Weights only', '(1)', '(2)'))
    ]
    return (useful or lines or [type(err).__name__])[0][:limit]


def short_list(items, shown: int = 10) -> str:
    """``'a, b, c, ...'``: the first ``shown`` items, for one-line messages."""
    items = list(items)
    return ', '.join(map(str, items[:shown])) + (', ...' if len(items) > shown else '')
