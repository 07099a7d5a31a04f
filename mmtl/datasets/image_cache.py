"""A cache of decoded images, shared by dataloader workers without copying.

Each image's full-size upright BGR decode is kept, in one anonymous shared memory map
(``'ram'``) or one memory-mapped file under ``cache_dir`` (``'disk'``, named by
:func:`~mmtl.utils.fileio.files_key` of the files and the decode settings). Both are made in
the main process before the workers fork and filled lazily; a one-byte flag per image, written
after its pixels, says that the slot is filled. The size is counted from the image headers and
checked (:func:`~mmtl.utils.fileio.check_fits`) before anything is allocated.
"""

import mmap
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open, check_fits, default_cache_dir, files_key

from .transforms.image_io import ImageDecodeError, open_image_file

#: Where decoded images can be kept (``FolderDataset(cache=...)``); None: not cached.
CACHE_MODES = ('ram', 'disk')


class ImageCache:
    """Decoded images of a dataset in one shared buffer (see the module docstring).

    Args:
        paths (Sequence[str]): The image files, in sample order.
        mode (str): ``'ram'`` or ``'disk'``.
        name (str): The dataset, for messages (e.g. its split folder).
        cache_dir (str, optional): Folder of the disk cache. Defaults to None:
            ``default_cache_dir('images')``.
        decode_key (str): The loader's decode settings (part of the disk cache's key).
            Defaults to ``''``.

    Raises:
        ConfigError: The images do not fit in the available memory (or disk).
    """

    def __init__(
        self,
        paths: Sequence[str],
        mode: str,
        name: str,
        cache_dir: Optional[str] = None,
        decode_key: str = '',
    ) -> None:
        self.mode = mode
        self.shapes = [self._upright_shape(p) for p in paths]
        sizes = np.array([h * w * 3 for h, w in self.shapes], dtype=np.int64)
        count = len(paths)
        # Flags first, then the pixels of each image, 64-byte aligned.
        padded = (sizes + 63) // 64 * 64
        self.offsets = count + np.cumsum(padded) - padded
        self.nbytes = int(count + padded.sum())
        self.path: Optional[str] = None
        what = f'{name}: cache={mode!r} for {count} decoded images'
        if mode == 'ram':
            check_fits(self.nbytes, what, "use cache='disk' (with cache_dir) or cache=None")
            self.buffer = np.frombuffer(mmap.mmap(-1, max(self.nbytes, 1)), dtype=np.uint8)
        else:
            folder = osp.expanduser(cache_dir or default_cache_dir('images'))
            os.makedirs(folder, exist_ok=True)
            self.path = osp.join(folder, files_key(paths, decode_key) + '.bin')
            if not osp.isfile(self.path) or osp.getsize(self.path) != max(self.nbytes, 1):
                check_fits(self.nbytes, what, 'free space or use cache=None', folder)
            self.buffer = self._open_file(self.path, max(self.nbytes, 1))
        self.flags = self.buffer[:count]

    def __getstate__(self) -> dict:
        """A disk cache travels by its path (reopened where it lands, e.g. a spawned
        worker); a RAM cache is shared by fork only."""
        if self.mode == 'ram':
            raise ConfigError(
                "cache='ram' is shared with dataloader workers by fork, but the dataset is "
                "being pickled (mp_start_method 'spawn' or 'forkserver'?): use cache='disk', "
                "or env_cfg.mp_cfg.mp_start_method='fork'"
            )
        state = dict(self.__dict__)
        del state['buffer'], state['flags']
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.buffer = self._open_file(self.path, max(self.nbytes, 1))
        self.flags = self.buffer[: len(self.shapes)]

    @staticmethod
    def _upright_shape(path: str) -> Tuple[int, int]:
        """``(height, width)`` from the header; ``(0, 0)`` for a file that cannot be read
        (never cached: loading it raises as without a cache)."""
        try:
            return open_image_file(path).upright_size[::-1]
        except ImageDecodeError:
            return 0, 0

    @staticmethod
    def _open_file(path: str, nbytes: int) -> np.ndarray:
        if not osp.isfile(path) or osp.getsize(path) != nbytes:
            with atomic_open(path) as f:
                f.truncate(nbytes)  # sparse, all zero: no slot filled
        with open(path, 'r+b') as f:  # a plain array over the map: no np.memmap overhead
            return np.frombuffer(mmap.mmap(f.fileno(), nbytes), dtype=np.uint8)

    def _view(self, index: int) -> np.ndarray:
        height, width = self.shapes[index]
        start = int(self.offsets[index])
        return self.buffer[start : start + height * width * 3].reshape(height, width, 3)

    def get(self, index: int) -> Optional[np.ndarray]:
        """Image ``index`` as a read-only view, or None when not filled yet."""
        if not self.flags[index]:
            return None
        view = self._view(index)
        view.flags.writeable = False
        return view

    def put(self, index: int, img: np.ndarray) -> None:
        """Store image ``index`` (ignored when its shape is not the header's)."""
        if img.dtype == np.uint8 and img.shape == (*self.shapes[index], 3):
            self._view(index)[...] = img
            self.flags[index] = 1

    def filled(self) -> List[int]:
        """Indices of the filled slots."""
        return np.flatnonzero(self.flags).tolist()
