"""One training per work dir: an exclusive POSIX record lock (``fcntl.lockf``) on
``<work_dir>/.mmtl-train.lock``, which the kernel releases when its process dies (``kill -9``
included) and which forked dataloader workers do not share.

Record locks belong to the process, and closing any file of it on the lock file releases
them: so a process takes the lock once per work dir, and a second ``lock_work_dir`` there
(``mmtl.fit`` locks before it builds the Runner, whose ``train`` locks too) holds nothing.
"""

import fcntl
import os
import os.path as osp
import time
from typing import Dict, Optional, TextIO

from mmengine.dist import is_main_process

from mmtl.utils.errors import ConfigError

LOCK_FILE = '.mmtl-train.lock'
#: The work dirs (real paths) this process holds, and the holds.
_HELD: Dict[str, 'WorkDirLock'] = {}


class WorkDirBusyError(ConfigError):
    """Another training holds the work dir."""


class WorkDirLock:
    """The hold of one training on its work dir.

    Args:
        file (TextIO, optional): The locked file; None holds nothing (the other processes of
            a distributed run, or a second hold of this process).
        key (str, optional): The work dir's real path, for :data:`_HELD`.
    """

    def __init__(self, file: Optional[TextIO], key: Optional[str] = None) -> None:
        self._file = file
        self._key = key

    def release(self) -> None:
        """Let another training use the work dir (closing the file releases the lock)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            _HELD.pop(self._key, None)


def lock_work_dir(work_dir: str) -> WorkDirLock:
    """Hold ``work_dir`` (created if missing) for this training; only the main process of a
    distributed run takes the lock.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        WorkDirLock: Call its ``release()`` when training ends; a second hold of this
        process on the same work dir holds nothing (the first one's release ends the lock).

    Raises:
        WorkDirBusyError: Another training holds it (one line naming the holder).
    """
    key = osp.realpath(work_dir)
    if not is_main_process() or key in _HELD:
        return WorkDirLock(None)
    os.makedirs(work_dir, exist_ok=True)
    file = open(osp.join(work_dir, LOCK_FILE), 'a+', encoding='utf-8')
    try:
        fcntl.lockf(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.seek(0)
        holder = file.read(200).strip() or 'another process'
        file.close()
        raise WorkDirBusyError(
            f'work_dir {work_dir} is in use by another training ({holder}): wait for it '
            f'to end, or give this run its own --work-dir'
        ) from None
    file.seek(0)
    file.truncate()
    file.write(f'pid {os.getpid()}, started {time.strftime("%Y-%m-%d %H:%M:%S")}\n')
    file.flush()
    _HELD[key] = WorkDirLock(file, key)
    return _HELD[key]
