"""Checkpoint loading that is safe on torch >= 2.6 and clear when offline.

Files are unpickled with ``weights_only=True`` and an allow-list of exactly the extra types
mmengine and mmpretrain checkpoints contain; anything else is refused naming the file and the
type. Each of mmengine's scheme prefixes gets a safe loader here (:data:`SAFE_SCHEME_LOADERS`),
registered by :mod:`mmtl.engine.loading`.
"""

import http.client
import os
import os.path as osp
import pickle
import urllib.request
import zipfile
from typing import IO, Any, Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner import checkpoint as mmengine_checkpoint

from .errors import (
    CheckpointDownloadError,
    CheckpointError,
    NotACheckpointError,
    TrustedCheckpointsError,
    first_line,
)
from .fileio import atomic_open
from .safetensors_io import is_safetensors, load_safetensors


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list of safe types."""


#: Environment variable listing checkpoint files (separated by ``os.pathsep``) that the user
#: trusts enough to unpickle without ``weights_only``. Only for legacy files one made oneself.
TRUSTED_CHECKPOINTS_ENV = 'MMTL_TRUSTED_CHECKPOINTS'
#: Set to 1 to never download: a checkpoint URL must then already be in the cache.
OFFLINE_ENV = 'MMTL_OFFLINE'
DOWNLOAD_TIMEOUT_S = 30


def _restricted_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``getattr`` in checkpoints: only a HistoryBuffer's statistics methods
    (how it pickles them); a general ``getattr`` would reach any method of any object."""
    allowed = set(HistoryBuffer._statistics_methods) | {'min', 'max', 'mean', 'current'}
    owner = obj if isinstance(obj, type) else type(obj)
    if issubclass(owner, HistoryBuffer) and name in allowed:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'refusing getattr({obj!r}, {name!r}) while unpickling a checkpoint'
    )


def safe_checkpoint_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allow-list of globals that mmengine/mmpretrain checkpoints need beyond torch's own.

    Returns:
        list: Entries for :func:`torch.serialization.safe_globals`; ``(obj, name)`` pairs map
        a name found in the pickle to the object used for it.
    """
    reconstruct = np._core.multiarray._reconstruct
    scalar = np._core.multiarray.scalar
    return [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        *{type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGUSO'},  # Float32DType, ...
        reconstruct,
        scalar,
        # numpy 1.x wrote these names; numpy 2 keeps the same functions under numpy._core.
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy.core.multiarray.scalar'),
        (_restricted_getattr, 'builtins.getattr'),
        (_restricted_getattr, '__builtin__.getattr'),
    ]


def _trusted_checkpoint_paths() -> set:
    """The files listed in ``MMTL_TRUSTED_CHECKPOINTS`` (resolved); absolute paths only.

    Raises:
        TrustedCheckpointsError: An entry is a relative path: it would trust whatever file
            has that name in the current folder.
    """
    value = os.environ.get(TRUSTED_CHECKPOINTS_ENV, '')
    entries = [p for p in value.split(os.pathsep) if p]
    for entry in entries:
        if not osp.isabs(osp.expanduser(entry)):
            raise TrustedCheckpointsError(
                f'{TRUSTED_CHECKPOINTS_ENV}: {entry!r} is a relative path; list absolute paths '
                f'only (a relative one trusts whatever file has that name in the current folder)'
            )
    return {osp.realpath(osp.expanduser(p)) for p in entries}


#: How torch's legacy (non-zip) format begins: pickle protocol 2, then its magic number.
_LEGACY_MAGIC = pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=2)[2:-1]
#: Words of a ``weights_only`` error that names a type outside the allow-list (other
#: unpickling errors mean damage).
_REFUSED_TYPE_MARKERS = ('GLOBAL', 'Unsupported global', 'refusing getattr', 'Unsupported operand')


def safe_torch_load(filename: str, map_location: Any = 'cpu') -> Any:
    """Load a torch checkpoint with ``weights_only=True`` and mmtl's allow-list.

    Args:
        filename (str): Path of the checkpoint file.
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        NotACheckpointError: The file is no torch checkpoint (text, image, empty, damaged).
        UnsafeCheckpointError: The file holds types outside the allow-list.
        TrustedCheckpointsError: ``MMTL_TRUSTED_CHECKPOINTS`` lists a relative path.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    # The user may list this very file as trusted (see TRUSTED_CHECKPOINTS_ENV).
    trusted = osp.realpath(filename) in _trusted_checkpoint_paths()
    with open(filename, 'rb') as f:
        return _load_file(f, filename, map_location, trusted)


def _zip_records(f: IO[bytes]) -> Optional[List[zipfile.ZipInfo]]:
    """The records of a zip file (left at its start), or None if it is no zip."""
    try:
        with zipfile.ZipFile(f) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        f.seek(0)


def _load_file(f: IO[bytes], name: str, map_location: Any, trusted: bool) -> Any:
    size = os.fstat(f.fileno()).st_size
    head = f.read(16)
    records = _zip_records(f)
    if records is None and not (head.startswith(b'\x80') and _LEGACY_MAGIC in head):
        reason = 'empty file' if size == 0 else "neither torch's zip nor its legacy format"
        raise NotACheckpointError(f'not a checkpoint: {name} ({reason})')
    # torch allocates each record at its declared size, and never compresses them.
    for record in records or ():
        if record.compress_type != zipfile.ZIP_STORED or record.file_size > size:
            raise NotACheckpointError(
                f'not a checkpoint: {name} (record {ascii(record.filename)[:80]} is compressed '
                f'or declares {record.file_size} bytes in a {size}-byte file; torch writes '
                f'neither)'
            )
    declared = sum(record.file_size for record in records or ())
    if declared > size:
        raise NotACheckpointError(
            f'not a checkpoint: {name} (its records declare {declared} bytes in a {size}-byte file)'
        )
    try:
        if trusted:
            return torch.load(f, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(safe_checkpoint_globals()):
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not any(marker in str(err) for marker in _REFUSED_TYPE_MARKERS):
            raise NotACheckpointError(f'not a checkpoint: {name} (damaged: {err})') from None
        # torch's line names the refused global, then advises an allow-list call.
        found = first_line(err).split(' Please use')[0]
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {name}: it holds objects outside the types that '
            f'mmengine/mmpretrain checkpoints contain, and unpickling them could run code. '
            f'If you made this file yourself and trust it, list its absolute path in the '
            f'{TRUSTED_CHECKPOINTS_ENV} environment variable. ({found})'
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, IndexError, OSError) as err:
        detail = first_line(err)
        raise NotACheckpointError(
            f'not a checkpoint: {name} (truncated or damaged: {detail})'
        ) from None


def cached_checkpoint_path(url: str) -> str:
    """Where the checkpoint at ``url`` is (or would be) cached: torch hub's ``checkpoints``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def is_offline() -> bool:
    """Whether downloads are off: ``MMTL_OFFLINE`` (or huggingface's ``HF_HUB_OFFLINE``) set."""
    return any(
        os.environ.get(name, '0') not in ('', '0') for name in (OFFLINE_ENV, 'HF_HUB_OFFLINE')
    )


def rank_zero_first(fetch: Callable[[bool], str]) -> str:
    """Download on rank 0 only; the other ranks wait, then read what it cached.

    Args:
        fetch (Callable): ``fetch(download)`` returns the local path of the file; with
            ``download=False`` it may only read the cache (and raises if the file is not
            there).

    Returns:
        str: The local path on this rank.
    """
    rank, world_size = get_dist_info()
    if world_size == 1:
        return fetch(True)
    error = None
    if rank == 0:
        try:
            fetch(True)
        except CheckpointError as err:
            error = err
    barrier()
    if error is not None:
        raise error
    return fetch(False)


def download_checkpoint(url: str) -> str:
    """The local path of ``url``'s checkpoint, downloaded once into the cache (by rank 0).

    Args:
        url (str): An ``http://`` or ``https://`` checkpoint address.

    Returns:
        str: Path of the cached file.

    Raises:
        CheckpointDownloadError: The file is not cached and the download failed.
    """
    target = cached_checkpoint_path(url)

    def fetch(download: bool) -> str:
        if not osp.isfile(target):
            if not download:
                rank = get_dist_info()[0]
                raise CheckpointDownloadError(
                    f'rank {rank}: {target} missing after rank 0 downloaded {url}'
                )
            _download(url, target)
        return target

    return rank_zero_first(fetch)


def _download(url: str, target: str) -> None:
    try:
        if is_offline():
            raise OSError(f'{OFFLINE_ENV} or HF_HUB_OFFLINE is set, downloads are off')
        print(f'Downloading {url} to {target}', flush=True)
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
            atomic_open(target, 'wb') as f,
        ):
            expected = response.headers.get('Content-Length')
            received = 0
            while chunk := response.read(1 << 20):
                f.write(chunk)
                received += len(chunk)
            if expected is not None and received != int(expected):
                # Raising inside atomic_open discards the partial file.
                raise OSError(f'connection closed after {received} of {expected} bytes')
    except (http.client.HTTPException, OSError) as err:  # URLError and timeouts are OSErrors
        raise CheckpointDownloadError(
            f'Could not download checkpoint {url} ({err}).\n'
            f'Either download it on a machine with internet access and put it at\n'
            f'    {target}\n'
            f'(the cache is under $TORCH_HOME, default ~/.cache/torch), or point the config at '
            f'a local copy:\n'
            f'    --cfg-options load_from=/path/to/{osp.basename(target)}'
        ) from None


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint scheme for local paths, loading safely (``.safetensors`` too); a
    file that holds anything but a dict (of weights, or with a ``state_dict``) is refused."""
    if is_safetensors(filename):
        return load_safetensors(osp.expanduser(filename), map_location=map_location)
    checkpoint = safe_torch_load(filename, map_location=map_location)
    if not isinstance(checkpoint, dict):
        raise NotACheckpointError(
            f'not a checkpoint: {filename} (holds a {type(checkpoint).__name__}, not a dict of '
            f'weights)'
        )
    return checkpoint


def load_url_checkpoint(
    filename: str, map_location: Any = None, model_dir: Optional[str] = None
) -> Any:
    """mmengine checkpoint scheme for ``http(s)://``: cache once, then load safely."""
    del model_dir  # always the torch hub cache, so that users know where to drop files
    return load_local_checkpoint(download_checkpoint(filename), map_location)


def _named_checkpoint(filename: str, urls: Dict[str, str], source: str) -> str:
    """The URL (or path) mmengine's table ``urls`` gives the name after ``scheme://``."""
    name = filename.partition('://')[2]
    name = mmengine_checkpoint.get_deprecated_model_names().get(name, name)
    if name not in urls:
        raise FileNotFoundError(
            f"{filename}: {source} has no checkpoint named {name!r} (mmengine's table)"
        )
    return urls[name]


def load_torchvision_scheme(filename: str, map_location: Any = None) -> Any:
    """``torchvision://NAME`` and ``modelzoo://NAME``: torchvision's URL, loaded safely."""
    urls = mmengine_checkpoint.get_torchvision_models()
    return load_url_checkpoint(_named_checkpoint(filename, urls, 'torchvision'), map_location)


def load_openmmlab_scheme(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: a URL, or a file in ``MMENGINE_HOME``."""
    target = _named_checkpoint(filename, mmengine_checkpoint.get_external_models(), 'OpenMMLab')
    if is_url(target):
        return load_url_checkpoint(target, map_location)
    home = mmengine_checkpoint._get_mmengine_home()
    return load_local_checkpoint(osp.join(home, target), map_location)


#: The checkpoint schemes mmtl loads, each through a safe loader. The prefixes are mmengine's
#: own, so that they replace its loaders; mmengine's other schemes (``mmcls://``, ``pavi://``,
#: ``s3://``, ``petrel://``) are refused by :func:`mmtl.engine.loading.register_checkpoint_schemes`.
SAFE_SCHEME_LOADERS: Dict[Tuple[str, ...], Callable] = {
    ('',): load_local_checkpoint,
    ('http://', 'https://'): load_url_checkpoint,
    ('torchvision://', 'modelzoo://'): load_torchvision_scheme,
    ('open-mmlab://', 'openmmlab://'): load_openmmlab_scheme,
}


def is_url(path: Optional[str]) -> bool:
    """Whether ``path`` is an http(s) address."""
    return isinstance(path, str) and path.startswith(('http://', 'https://'))
