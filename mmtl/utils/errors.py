"""mmtl's user errors: mistakes in what a user gave (a config, a data folder, a checkpoint).

Each message names the file, key or value at fault and says what to do, so the tools print
it as one line without a traceback (see :func:`mmtl.utils.cli.run_with_clear_errors`).
This module imports nothing from mmtl: every layer may raise these errors.
"""

__all__ = ['BadDataError', 'CheckpointError', 'ConfigError', 'UserError']


class UserError(Exception):
    """Base of the errors caused by a user's input; the message says everything needed."""


class ConfigError(UserError, ValueError):
    """A config key or command-line value is wrong; the message names it."""


class BadDataError(UserError, ValueError):
    """A dataset holds files that cannot be read, or classes without images."""


class CheckpointError(UserError):
    """A checkpoint cannot be used: unsafe, unreadable, not downloadable or not fitting."""
