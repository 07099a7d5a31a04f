"""Files mmtl keeps: atomic writes, the cache folder, file signatures, room checks."""

import contextlib
import hashlib
import os
import os.path as osp
import shutil
import tempfile
from typing import IO, Iterable, Iterator, Optional, Tuple

from .errors import ConfigError

#: Environment variable naming the cache folder.
CACHE_DIR_ENV = 'MMTL_CACHE_DIR'

#: Signature of a file that cannot be stat'ed (never equals a real one).
NO_SIGNATURE = (-1, -1, -1, -1)


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


def default_cache_dir(name: str) -> str:
    """``$MMTL_CACHE_DIR/<name>``, else ``$XDG_CACHE_HOME/mmtl/<name>``, else
    ``~/.cache/mmtl/<name>``: where mmtl keeps what it can recompute."""
    root = os.environ.get(CACHE_DIR_ENV)
    if not root:
        base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
        root = osp.join(base, 'mmtl')
    return osp.join(root, name)


def file_signature(path: str, dir_fd: Optional[int] = None) -> Tuple[int, int, int, int]:
    """What changes when a file is rewritten or replaced: ``(size, mtime_ns, ctime_ns, inode)``.

    Args:
        path (str): The file (a name relative to ``dir_fd`` when given).
        dir_fd (int, optional): An open directory descriptor. Defaults to None.

    Returns:
        tuple: The four integers, or :data:`NO_SIGNATURE` when the file cannot be stat'ed.
    """
    try:
        info = os.stat(path, dir_fd=dir_fd)
    except OSError:
        return NO_SIGNATURE
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def files_key(paths: Iterable[str], *parts: str) -> str:
    """The name of a cache made from ``paths`` (each by its :func:`file_signature`) and ``parts``.

    Args:
        paths (Iterable[str]): The files, in the cache's order.
        *parts (str): Everything else the cache depends on.

    Returns:
        str: 32 hex digits.
    """
    digest = hashlib.sha256('\n'.join(parts).encode())
    for path in paths:
        digest.update(f'\n{path}\t{file_signature(path)}'.encode())
    return digest.hexdigest()[:32]


def available_memory() -> int:
    """Bytes of memory available to new allocations (psutil's ``available``)."""
    import psutil  # here, not at the top: mmtl.config, which import mmtl loads, imports this

    return psutil.virtual_memory().available


def check_fits(nbytes: int, what: str, hint: str, folder: Optional[str] = None) -> None:
    """Refuse in one line a store of ``nbytes`` that the memory (or ``folder``'s disk) lacks.

    Args:
        nbytes (int): The size of the store.
        what (str): The store, as the message starts (e.g. ``"train: cache='ram'"``).
        hint (str): What to do instead.
        folder (str, optional): Check the free disk space there. Defaults to None: memory.

    Raises:
        ConfigError: ``nbytes`` exceeds what is available.
    """
    if folder is None:
        available, where = available_memory(), 'memory'
    else:
        available, where = shutil.disk_usage(folder).free, f'disk space in {folder}'
    if nbytes > available:
        raise ConfigError(
            f'{what} needs {nbytes / 2**20:.0f} MiB ({nbytes} bytes), but only '
            f'{available / 2**20:.0f} MiB of {where} ({available} bytes) are available; {hint}'
        )
