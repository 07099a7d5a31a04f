"""One training per work dir: a lock that the kernel releases when its process dies.

The first training holds an exclusive POSIX record lock (``fcntl.lockf``) on
``<work_dir>/.mmtl-train.lock``; a second one is refused in one line naming the holder. The
process's end (``kill -9`` included) releases it, and forked dataloader workers do not
share it. Only the main process of a distributed run takes it.
"""

import fcntl
import os
import os.path as osp
import time
from typing import Optional, TextIO

from mmengine.dist import is_main_process

from mmtl.utils.errors import ConfigError

#: The lock file's name inside the work dir.
LOCK_FILE = '.mmtl-train.lock'


class WorkDirBusyError(ConfigError):
    """Another training holds the work dir."""


class WorkDirLock:
    """The exclusive hold of one training on its work dir.

    Args:
        work_dir (str): The work dir (created if missing).
        hold (bool): Take the lock; False makes a lock that holds nothing (the other
            processes of a distributed run). Defaults to True.

    Raises:
        WorkDirBusyError: Another training process holds it.
    """

    def __init__(self, work_dir: str, hold: bool = True) -> None:
        self._file: Optional[TextIO] = None
        if not hold:
            return
        os.makedirs(work_dir, exist_ok=True)
        self.path = osp.join(work_dir, LOCK_FILE)
        self._file = open(self.path, 'a+', encoding='utf-8')
        try:
            fcntl.lockf(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read(200).strip() or 'another process'
            self._file.close()
            self._file = None
            raise WorkDirBusyError(
                f'work_dir {work_dir} is in use by another training ({holder}): wait for it '
                f'to end, or give this run its own --work-dir'
            ) from None
        self._file.seek(0)
        self._file.truncate()
        started = time.strftime('%Y-%m-%d %H:%M:%S')
        self._file.write(f'pid {os.getpid()}, started {started}\n')
        self._file.flush()

    def release(self) -> None:
        """Let another training use the work dir (closing the file releases the lock)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def lock_work_dir(work_dir: str) -> WorkDirLock:
    """Hold ``work_dir`` for this training (only the main process of a distributed run does).

    Args:
        work_dir (str): The run's work dir.

    Returns:
        WorkDirLock: Call its ``release()`` when training ends.

    Raises:
        WorkDirBusyError: Another training holds it (one line, before any work).
    """
    return WorkDirLock(work_dir, hold=is_main_process())
