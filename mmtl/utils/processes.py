"""Running a tool in a child process with its output in a log file."""

import os
import os.path as osp
import subprocess
from typing import List

from .errors import UserError


def run_logged(command: List[str], log_file: str, check: bool = False) -> int:
    """Run ``command`` in its own process, its stdout and stderr in ``log_file``.

    Args:
        command (list[str]): The command line.
        log_file (str): The log to write (its folder is made).
        check (bool): Whether a non-zero exit is an error. Defaults to False.

    Returns:
        int: The exit code.

    Raises:
        UserError: ``check`` and the command failed; the message holds the end of the log.
    """
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'w') as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    if check and code != 0:
        with open(log_file, errors='replace') as log:
            tail = ''.join(log.readlines()[-15:])
        what = ' '.join(command[1:3])
        raise UserError(f'{what} failed (exit {code}); end of {log_file}:\n{tail}')
    return code
