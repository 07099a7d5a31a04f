"""Helpers shared by the command-line tools."""

import os
import sys
from typing import Callable

from .checkpoint import CheckpointDownloadError, UnsafeCheckpointError


class ConfigError(ValueError):
    """A config key or command-line value is wrong; the message names it."""


#: Errors whose message says everything a user needs: printed without a traceback.
USER_ERRORS = (ConfigError, CheckpointDownloadError, UnsafeCheckpointError, FileNotFoundError)


def select_device(device: str) -> None:
    """Restrict the process to the requested device, before CUDA is initialised.

    Args:
        device (str): ``'auto'`` (GPU when available), ``'cpu'`` or ``'cuda'``.
    """
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    elif device == 'cuda':
        import torch

        if not torch.cuda.is_available():
            raise ConfigError('--device cuda: no CUDA GPU is visible to this process')


def run_with_clear_errors(func: Callable[[], None]) -> int:
    """Run ``func``; report a user error in one clear line instead of a traceback.

    Returns:
        int: The process exit code: 0 on success, 1 on a user error.
    """
    try:
        func()
    except USER_ERRORS as err:
        print(f'error: {err}', file=sys.stderr, flush=True)
        return 1
    return 0
