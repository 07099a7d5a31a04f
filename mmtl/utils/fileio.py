"""Small file helpers that never leave a half-written file behind."""

import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it onto ``path`` only when complete.

    The data is flushed and fsynced before the rename, so a crash at any moment leaves either
    the old file or the new one, never a truncated mix. On error the temporary file is removed.

    Args:
        path (str): The final destination.
        mode (str): ``'wb'`` or ``'w'``. Defaults to ``'wb'``.

    Yields:
        IO: The open temporary file to write to.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f'atomic_open supports modes "w" and "wb", got {mode!r}')
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=directory)
    try:
        # mkstemp makes the file 0600; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        encoding = None if 'b' in mode else 'utf-8'
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise
