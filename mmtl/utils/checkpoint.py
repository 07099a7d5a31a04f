"""Checkpoint loading that is safe on torch >= 2.6 and clear when offline.

torch >= 2.6 unpickles with ``weights_only=True`` by default, and mmengine 0.10.7 calls plain
``torch.load``, so its own checkpoints (which hold a ``HistoryBuffer`` and numpy scalars) fail
to load. mmtl keeps ``weights_only=True`` and allows exactly the extra types that mmengine and
mmpretrain checkpoints contain; anything else is refused with an error naming the file and
the type. The loaders are registered as mmengine checkpoint schemes, so ``load_from``,
``resume`` and ``--checkpoint`` all go through them.
"""

import http.client
import os
import os.path as osp
import pickle
import urllib.error
import urllib.request
from typing import Any, Callable, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

from .checkpoint_converters import convert_checkpoint
from .fileio import atomic_open
from .safetensors_io import is_safetensors, load_safetensors

#: Environment variable listing checkpoint files (separated by ``os.pathsep``) that the user
#: trusts enough to unpickle without ``weights_only``. Only for legacy files one made oneself.
TRUSTED_CHECKPOINTS_ENV = 'MMTL_TRUSTED_CHECKPOINTS'
#: Set to 1 to never download: a checkpoint URL must then already be in the cache.
OFFLINE_ENV = 'MMTL_OFFLINE'
DOWNLOAD_TIMEOUT_S = 30


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list of safe types."""


class CheckpointDownloadError(RuntimeError):
    """A checkpoint URL is not in the local cache and could not be downloaded."""


def _restricted_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``getattr`` in checkpoints: only a HistoryBuffer's statistics methods.

    A ``HistoryBuffer`` pickles its statistics functions as ``getattr(HistoryBuffer, 'mean')``
    and so on. A general ``getattr`` would let a pickle reach and call any method of any
    allowed object, so only that one use is accepted.
    """
    allowed = set(HistoryBuffer._statistics_methods) | {'min', 'max', 'mean', 'current'}
    owner = obj if isinstance(obj, type) else type(obj)
    if issubclass(owner, HistoryBuffer) and name in allowed:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'refusing getattr({obj!r}, {name!r}) while unpickling a checkpoint'
    )


def _numpy_dtype_classes() -> List[type]:
    """The concrete numpy dtype classes (``numpy.dtypes.Float32DType``, ...)."""
    codes = '?bBhHiIlLqQefdgFDGUSO'
    return sorted({type(np.dtype(code)) for code in codes}, key=lambda cls: cls.__name__)


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
        *_numpy_dtype_classes(),
        reconstruct,
        scalar,
        # numpy 1.x wrote these names; numpy 2 keeps the same functions under numpy._core.
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy.core.multiarray.scalar'),
        (_restricted_getattr, 'builtins.getattr'),
        (_restricted_getattr, '__builtin__.getattr'),
    ]


def _trusted_checkpoint_paths() -> set:
    value = os.environ.get(TRUSTED_CHECKPOINTS_ENV, '')
    return {osp.realpath(p) for p in value.split(os.pathsep) if p}


def _unsafe_globals(filename: str) -> List[str]:
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # not a zip checkpoint: the caller's message is enough
        return []


def safe_torch_load(filename: str, map_location: Any = 'cpu') -> Any:
    """Load a torch checkpoint with ``weights_only=True`` and mmtl's allow-list.

    Args:
        filename (str): Path of the checkpoint file.
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file holds types outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if osp.realpath(filename) in _trusted_checkpoint_paths():
        # The user listed this very file as trusted (see TRUSTED_CHECKPOINTS_ENV).
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(safe_checkpoint_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        unsafe = [g for g in _unsafe_globals(filename) if g not in _allowed_names()]
        found = f' It references {", ".join(unsafe)}.' if unsafe else ''
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: it holds objects outside the types that '
            f'mmengine/mmpretrain checkpoints contain, and unpickling them could run code.'
            f'{found} If you made this file yourself and trust it, list its path in the '
            f'{TRUSTED_CHECKPOINTS_ENV} environment variable. ({err})'
        ) from None


def _allowed_names() -> set:
    names = set()
    for entry in safe_checkpoint_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    return names


def checkpoint_cache_dir() -> str:
    """Directory where downloaded checkpoints are kept (torch hub's ``checkpoints``)."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def cached_checkpoint_path(url: str) -> str:
    """Path where the checkpoint at ``url`` is (or would be) cached."""
    return osp.join(checkpoint_cache_dir(), osp.basename(urlparse(url).path))


def download_checkpoint(url: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> str:
    """Return the local path of ``url``'s checkpoint, downloading it once into the cache.

    In a distributed run only rank 0 downloads; the other ranks wait and read the cache.

    Args:
        url (str): An ``http://`` or ``https://`` checkpoint address.
        timeout (float): Seconds to wait for the server. Defaults to 30.

    Returns:
        str: Path of the cached file.

    Raises:
        CheckpointDownloadError: The file is not cached and the download failed.
    """
    target = cached_checkpoint_path(url)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(target):
        _download(url, target, timeout)
    if world_size > 1:
        barrier()
    if not osp.isfile(target):
        raise CheckpointDownloadError(
            f'rank {rank}: {target} missing after rank 0 downloaded {url}'
        )
    return target


def _download(url: str, target: str, timeout: float) -> None:
    try:
        if os.environ.get(OFFLINE_ENV, '0') not in ('', '0'):
            raise OSError(f'{OFFLINE_ENV} is set, downloads are off')
        print(f'Downloading {url} to {target}', flush=True)
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
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
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as err:
        raise CheckpointDownloadError(
            f'Could not download checkpoint {url} ({err}).\n'
            f'Either download it on a machine with internet access and put it at\n'
            f'    {target}\n'
            f'(the cache is under $TORCH_HOME, default ~/.cache/torch), or point the config at '
            f'a local copy:\n'
            f'    --cfg-options load_from=/path/to/{osp.basename(target)}'
        ) from None


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint scheme for local paths, loading safely (``.safetensors`` too)."""
    if is_safetensors(filename):
        checkpoint = load_safetensors(osp.expanduser(filename), map_location=map_location)
    else:
        checkpoint = safe_torch_load(filename, map_location=map_location)
    return _convert_torchvision(checkpoint, filename)


def load_url_checkpoint(
    filename: str, map_location: Any = None, model_dir: Optional[str] = None
) -> Any:
    """mmengine checkpoint scheme for ``http(s)://``: cache once, then load safely."""
    del model_dir  # always the torch hub cache, so that users know where to drop files
    checkpoint = safe_torch_load(download_checkpoint(filename), map_location=map_location)
    return _convert_torchvision(checkpoint, filename)


def _convert_torchvision(checkpoint: Any, source: str) -> Any:
    """A torchvision/timm checkpoint converted to mmtl's layout (and logged); others unchanged."""
    # The converters register themselves in CHECKPOINT_CONVERTERS (mmtl.models.converters).
    return convert_checkpoint(checkpoint, source)


def register_checkpoint_schemes() -> None:
    """Make mmengine load local and URL checkpoints through mmtl's safe loaders."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_url_checkpoint, force=True
    )


def is_url(path: Optional[str]) -> bool:
    """Whether ``path`` is an http(s) address."""
    return isinstance(path, str) and path.startswith(('http://', 'https://'))
