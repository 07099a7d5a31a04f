"""A record of the files found bad while loading, shared by all dataloader worker processes.

A temporary folder, made in the main process, with one marker file per bad file: creating a
marker is atomic (``O_CREAT | O_EXCL``), so exactly one process logs a file, and the
folder's size is the count over all workers. The main process removes it at exit.
"""

import hashlib
import os
import os.path as osp
import shutil
import tempfile
import weakref
from typing import List, Tuple


def _remove(folder: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # never from a forked worker
        shutil.rmtree(folder, ignore_errors=True)


class BadFileRecord:
    """Bad files seen by any process of this run, each counted once (markers in a temporary
    folder, removed with this object)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix='mmtl-bad-files-')
        weakref.finalize(self, _remove, self.folder, os.getpid())

    @staticmethod
    def _marker(path: str) -> str:
        return hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()

    def add(self, path: str) -> Tuple[bool, int]:
        """Record ``path`` as bad.

        Args:
            path (str): The file.

        Returns:
            tuple[bool, int]: Whether no process had recorded it before (log it then), and
            how many files are recorded in all.
        """
        try:
            fd = os.open(
                osp.join(self.folder, self._marker(path)), os.O_CREAT | os.O_EXCL | os.O_WRONLY
            )
        except FileExistsError:
            return False, self.count()
        except OSError:  # the record is gone (e.g. /tmp cleaned): log rather than hide
            return True, 1
        with os.fdopen(fd, 'wb') as f:
            f.write(path.encode('utf-8', 'surrogateescape'))
        return True, self.count()

    def count(self) -> int:
        """How many bad files are recorded."""
        return len(os.listdir(self.folder))

    def paths(self) -> List[str]:
        """The recorded files, sorted."""
        found = []
        for name in sorted(os.listdir(self.folder)):
            with open(osp.join(self.folder, name), 'rb') as f:
                found.append(f.read().decode('utf-8', 'surrogateescape'))
        return sorted(found)
