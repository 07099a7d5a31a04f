"""Checking the image files of a dataset before training: find the ones that cannot be read.

A JPEG that ends with its end-of-image marker is complete (the marker cannot occur inside the
compressed data), so only its head and tail are read; a PNG's chunk CRCs are checked without
inflating the pixels; other files are decoded.
"""

import functools
import multiprocessing
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Dict, Iterable, List, Optional, Sequence, Tuple

from PIL import Image

from mmtl.utils.prediction_rows import safe_text

from .listing import stat_problem
from .transforms.image_io import (
    ImageDecodeError,
    ImageTooLargeError,
    _pillow_bomb_check_off,
    check_pixel_limit,
    decode_image_file,
    jpeg_segments,
    max_image_pixels,
)

#: PIL format names of the files the image loaders read (OpenCV decodes all of these; MPO is
#: the multi-picture JPEG some cameras write).
READABLE_FORMATS = ('JPEG', 'MPO', 'PNG', 'BMP', 'DIB', 'PPM', 'TIFF', 'WEBP')

#: How many bad paths a report lists before "... and N more".
SHOWN_PATHS = 5

#: A scan uses a process pool for at least this many files and usable CPUs (on fewer,
#: forking a process that holds torch costs more than it saves), with at most 8 processes.
POOL_MIN_FILES = 4000
POOL_MIN_CPUS = 4
MAX_SCAN_WORKERS = 8

if TYPE_CHECKING:  # pragma: no cover
    from .scan_cache import ScanCache


#: JPEG start-of-frame markers of the baseline, extended and progressive 8-bit Huffman
#: processes: what the loaders decode.
_SOF_MARKERS = (0xC0, 0xC1, 0xC2)

#: Bytes read at once from the start of a JPEG: the segments before the frame header of an
#: ordinary file (camera EXIF with a thumbnail included) fit; others go to Pillow.
_JPEG_HEAD_BYTES = 65536


def _ends_with_jpeg_eoi(f: BinaryIO) -> bool:
    """Whether the open file ends with a JPEG end-of-image marker (zero padding allowed)."""
    f.seek(max(0, os.fstat(f.fileno()).st_size - 64))
    return f.read().rstrip(b'\x00').endswith(b'\xff\xd9')


def _plain_jpeg_is_complete(path: str) -> bool:
    """Whether ``path`` is an ordinary complete JPEG (8-bit, 1, 3 or 4 components, within the
    pixel limit, ending with the end-of-image marker), judged without Pillow. False sends the
    file to the Pillow check, which words the verdict: a fast path, never a different rule."""
    try:
        with open(path, 'rb', buffering=0) as f:
            head = f.read(_JPEG_HEAD_BYTES)
            complete = _ends_with_jpeg_eoi(f)
    except OSError:
        return False
    if head[:2] != b'\xff\xd8':
        return False
    frame = next((data for marker, data in jpeg_segments(head) if marker in _SOF_MARKERS), b'')
    if len(frame) < 6 or frame[0] != 8 or frame[5] not in (1, 3, 4):
        return False
    height, width = (frame[1] << 8) | frame[2], (frame[3] << 8) | frame[4]
    limit = max_image_pixels()
    if not width or not height or (limit is not None and width * height > limit):
        return False
    return complete


def _pillow_problem(path: str) -> Optional[str]:
    """Why PIL cannot read ``path`` as a complete image of a readable format (None if it can)."""
    try:
        with warnings.catch_warnings(), _pillow_bomb_check_off():
            warnings.simplefilter('ignore')  # e.g. EXIF warnings
            with Image.open(path) as img:
                if img.format not in READABLE_FORMATS:
                    return f'{img.format} image: not one of the readable formats'
                check_pixel_limit(img.size, path)
                if img.format in ('JPEG', 'MPO'):
                    with open(path, 'rb', buffering=0) as f:
                        complete = _ends_with_jpeg_eoi(f)
                    if not complete:
                        img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
                        img.load()
                elif img.format == 'PNG':
                    img.verify()
                else:
                    img.load()
    except PermissionError:
        return 'not readable: permission denied'
    except ImageTooLargeError as err:
        return f'too large: {err.reason}'
    except Image.UnidentifiedImageError:
        return 'not an image: unrecognised content'
    except Exception as err:  # PIL raises many types for bad data; all mean "bad file"
        message = str(err).split('\n')[0][:120]
        return f'corrupt or truncated image: {type(err).__name__}: {message}'
    return None


def decode_problem(path: str) -> Optional[str]:
    """Why the loaders' own decoder fails on ``path`` (None if it decodes). A JPEG is decoded
    at 1/8 scale: libjpeg-turbo still reads every entropy-coded block.

    Args:
        path (str): The file.

    Returns:
        str | None: None for a file that decodes, else the reason.
    """
    try:
        decode_image_file(path, short_edge=1)
    except ImageTooLargeError as err:
        return f'too large: {err.reason}'
    except ImageDecodeError as err:
        return f'corrupt image data: {err.reason[:120]}'
    except Exception as err:  # a decoder bug on odd data still means "bad file"
        return f'corrupt image data: {type(err).__name__}: {str(err)[:120]}'
    return None


def check_image_file(path: str, decode: bool = False) -> Optional[str]:
    """Check that ``path`` is a complete image file that the loaders can read.

    Args:
        path (str): The file.
        decode (bool): Also decode it (:func:`decode_problem`), which finds data corrupt
            inside an intact structure. Defaults to False: structure only.

    Returns:
        str | None: None for a good file, else a short reason such as
        ``'empty file, 0 bytes'``.
    """
    problem = stat_problem(path)
    if problem is not None:
        return problem
    is_jpeg = path[-4:].lower() in ('.jpg', 'jpeg')
    problem = None if is_jpeg and _plain_jpeg_is_complete(path) else _pillow_problem(path)
    if problem is None and decode:
        problem = decode_problem(path)
    return problem


@dataclass
class ScanReport:
    """What a scan found.

    Attributes:
        num_files (int): Files checked.
        bad_files (list[tuple[str, str]]): ``(path, reason)`` of each bad file, in scan order.
        empty_classes (list[str]): Class names without any image.
        seconds (float): Time the scan took.
        cached (int): Files whose verdict came from the scan cache (unchanged since).
        workers (int): Processes that checked the other files.
    """

    num_files: int = 0
    bad_files: List[Tuple[str, str]] = field(default_factory=list)
    empty_classes: List[str] = field(default_factory=list)
    seconds: float = 0.0
    cached: int = 0
    workers: int = 1

    @property
    def bad_paths(self) -> List[str]:
        """The paths of the bad files."""
        return [path for path, _ in self.bad_files]

    @property
    def ok(self) -> bool:
        """Whether no bad file and no empty class was found."""
        return not self.bad_files and not self.empty_classes

    def describe_bad_files(self, limit: int = SHOWN_PATHS) -> str:
        """``'3 of 120 files cannot be read: a.jpg (empty file), ...'`` (first ``limit``)."""
        shown = '; '.join(f'{safe_text(path)} ({why})' for path, why in self.bad_files[:limit])
        more = len(self.bad_files) - limit
        tail = f'; ... and {more} more' if more > 0 else ''
        return (
            f'{len(self.bad_files)} of {self.num_files} files cannot be read as images: '
            f'{shown}{tail}'
        )


def default_scan_workers(num_files: int) -> int:
    """Processes for checking ``num_files`` files: one below :data:`POOL_MIN_FILES` files or
    :data:`POOL_MIN_CPUS` usable CPUs or without ``fork``, else up to the usable CPUs."""
    if num_files < POOL_MIN_FILES or 'fork' not in multiprocessing.get_all_start_methods():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    if (cpus or 1) < POOL_MIN_CPUS:
        return 1
    return max(1, min(MAX_SCAN_WORKERS, cpus, num_files // (POOL_MIN_FILES // 2)))


def scan_image_files(
    paths: Iterable[str],
    class_files: Optional[Sequence[Tuple[str, int]]] = None,
    decode: bool = False,
    workers: Optional[int] = 1,
    cache: Optional['ScanCache'] = None,
) -> ScanReport:
    """Check every file in ``paths`` with :func:`check_image_file`.

    Args:
        paths (Iterable[str]): Files to check.
        class_files (Sequence[tuple[str, int]], optional): ``(class name, number of files)``
            per class; those with no file are reported as empty. Defaults to None.
        decode (bool): Also decode each file (see :func:`decode_problem`). Defaults to False.
        workers (int, optional): Processes to check with; None picks
            :func:`default_scan_workers`. Defaults to 1.
        cache (ScanCache, optional): Verdicts of earlier scans: files unchanged since are
            not checked again, and the new verdicts are stored. Defaults to None.

    Returns:
        ScanReport: Counts, bad files with reasons, empty classes and the time taken.
    """
    start = time.perf_counter()
    paths = list(paths)
    known: Dict[str, Optional[str]] = {}
    todo = paths
    if cache is not None:
        known, todo = cache.lookup(paths)
    workers = default_scan_workers(len(todo)) if workers is None else workers
    check = functools.partial(check_image_file, decode=decode)
    if workers > 1 and len(todo) > 1:
        chunk = max(256, len(todo) // (workers * 8))
        with multiprocessing.get_context('fork').Pool(workers) as pool:
            verdicts = dict(zip(todo, pool.map(check, todo, chunksize=chunk)))
    else:
        verdicts = {path: check(path) for path in todo}
    if cache is not None:
        cache.record(verdicts, paths)
        cache.save()
        verdicts.update(known)
    report = ScanReport(num_files=len(paths), cached=len(known), workers=workers)
    report.bad_files = [(path, verdicts[path]) for path in paths if verdicts[path] is not None]
    if class_files is not None:
        report.empty_classes = [name for name, count in class_files if count == 0]
    report.seconds = time.perf_counter() - start
    return report
