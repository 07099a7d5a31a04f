"""Remembering which files a scan found good, so an unchanged folder is re-checked by ``stat``.

The cache of a split folder is one JSON file (never pickle: a cache is data, not code) under
:func:`default_cache_dir`, named by a hash of the folder's absolute path, the scan mode and the
pixel limit, so a stricter scan or another limit never reuses a verdict. Each file's verdict
is kept with its signature ``(size, mtime_ns, ctime_ns, inode)``: any write, replacement,
rename or permission change alters one of them, and the file is checked again (a file
modified less than 2 s before a scan is not cached, so a rewrite within the same timestamp
tick cannot hide). A cache file that cannot be read or parsed is ignored (and rewritten); one
that cannot be written (a read-only home) only costs the speed-up.

The file is laid out for a fast re-scan (parsing one JSON entry per file would bound it):
per folder, the file names in one list, their signatures as one base64 block
of little-endian int64 (four per file) and only the bad files' problems. A re-scan stats the
files of a folder through one directory descriptor and compares all signatures at once.
"""

import base64
import binascii
import hashlib
import json
import os
import os.path as osp
import tempfile
import time
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from .transforms.image_io import max_image_pixels

#: Bump when the meaning of a verdict or the layout changes: older caches are then ignored.
CACHE_VERSION = 2

#: Signature row of a file whose verdict is not to be reused (never equals a real one).
NO_SIGNATURE = (-1, -1, -1, -1)

#: Environment variable naming the cache folder.
CACHE_DIR_ENV = 'MMTL_CACHE_DIR'

#: A verdict is stored only for a file last modified this long before the scan: a file
#: rewritten within the file system's timestamp granularity (a few ms) of the scan could keep
#: its size and times (the "racy" case git guards against the same way).
RACY_NS = 2_000_000_000


def default_cache_dir() -> str:
    """``$MMTL_CACHE_DIR/scan``, else ``$XDG_CACHE_HOME/mmtl/scan``, else ``~/.cache/mmtl/scan``."""
    root = os.environ.get(CACHE_DIR_ENV)
    if not root:
        base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
        root = osp.join(base, 'mmtl')
    return osp.join(root, 'scan')


def folder_signatures(folder: str, names: List[str]) -> np.ndarray:
    """Signatures of ``names`` inside ``folder``, one ``(n, 4)`` int64 array.

    One directory descriptor for the folder (``stat(name, dir_fd=...)``: the kernel does not
    walk the whole path again for every file); a file that cannot be stat'ed gets
    :data:`NO_SIGNATURE`.

    Args:
        folder (str): The directory holding the files.
        names (list[str]): File names (no separators) in ``folder``.

    Returns:
        np.ndarray: Rows ``(size, mtime_ns, ctime_ns, inode)``.
    """
    values: List[int] = []
    extend = values.extend
    stat = os.stat
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return np.tile(np.array(NO_SIGNATURE, np.int64), (len(names), 1))
    try:
        for name in names:
            try:
                info = stat(name, dir_fd=fd)
            except OSError:
                extend(NO_SIGNATURE)
                continue
            extend((info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
    finally:
        os.close(fd)
    return np.array(values, np.int64).reshape(-1, 4)


def _encode_signatures(rows: np.ndarray) -> str:
    return base64.b64encode(rows.astype('<i8').tobytes()).decode('ascii')


def _decode_signatures(text: str, count: int) -> Optional[np.ndarray]:
    try:
        rows = np.frombuffer(base64.b64decode(text, validate=True), '<i8')
    except (binascii.Error, ValueError, TypeError):
        return None
    return rows.reshape(-1, 4) if rows.size == 4 * count else None


def _group_by_folder(paths: Iterable[str]) -> Dict[str, Tuple[List[str], List[str]]]:
    """``{folder: (names, paths)}`` in the order of ``paths``.

    A listing gives each folder's files one after the other, so the paths are cut into runs
    of one folder with list operations rather than a dictionary look-up per path.
    """
    paths = list(paths)
    parts = [path.rpartition(os.sep) for path in paths]
    folders = [part[0] for part in parts]
    names = [part[2] for part in parts]
    starts = [0] + [i for i in range(1, len(folders)) if folders[i] != folders[i - 1]]
    groups: Dict[str, Tuple[List[str], List[str]]] = {}
    for start, end in zip(starts, starts[1:] + [len(paths)]):
        if start == end:
            continue
        group = groups.setdefault(folders[start], ([], []))
        group[0].extend(names[start:end])
        group[1].extend(paths[start:end])
    return groups


class _Folder:
    """The cached state of one folder: names, signature rows, bad files' problems."""

    __slots__ = ('names', 'signatures', 'problems')

    def __init__(self, names: List[str], signatures: np.ndarray, problems: Dict[str, str]):
        self.names = names
        self.signatures = signatures
        self.problems = problems

    @classmethod
    def from_json(cls, data) -> Optional['_Folder']:
        if not isinstance(data, dict):
            return None
        names, problems = data.get('names'), data.get('problems')
        if not isinstance(names, list) or not isinstance(problems, dict):
            return None
        signatures = _decode_signatures(data.get('signatures'), len(names))
        return None if signatures is None else cls(names, signatures, problems)

    def to_json(self) -> dict:
        return dict(
            names=self.names,
            signatures=_encode_signatures(self.signatures),
            problems=self.problems,
        )


class ScanCache:
    """Verdicts of earlier scans of one split folder.

    Args:
        split_dir (str): The folder scanned.
        mode (str): The scan mode (``'header'`` or ``'decode'``).
        cache_dir (str, optional): Where cache files go. Defaults to :func:`default_cache_dir`.
    """

    def __init__(self, split_dir: str, mode: str, cache_dir: Optional[str] = None) -> None:
        key = json.dumps([osp.abspath(split_dir), mode, max_image_pixels(), CACHE_VERSION])
        name = hashlib.sha1(key.encode('utf-8', 'surrogateescape')).hexdigest()[:24]
        self.path = osp.join(cache_dir or default_cache_dir(), f'{name}.json')
        self.split_dir = osp.abspath(split_dir)
        self.mode = mode
        self.folders: Dict[str, _Folder] = self._load()
        self.changed = False
        # Signatures seen by the last lookup, per folder, and its paths grouped by folder
        # (reused by record when it is given the same paths).
        self._seen: Dict[str, Tuple[List[str], np.ndarray]] = {}
        self._groups: Tuple[object, Dict[str, Tuple[List[str], List[str]]]] = (None, {})

    def _load(self) -> Dict[str, _Folder]:
        try:
            with open(self.path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        valid = (
            isinstance(data, dict)
            and data.get('version') == CACHE_VERSION
            and data.get('split_dir') == self.split_dir
            and isinstance(data.get('folders'), dict)
        )
        if not valid:
            return {}
        folders = {}
        for folder, entry in data['folders'].items():
            parsed = _Folder.from_json(entry)
            if parsed is not None:
                folders[folder] = parsed
        return folders

    def lookup(self, paths: Iterable[str]) -> Tuple[Dict[str, Optional[str]], List[str]]:
        """Split ``paths`` into those with a verdict for their current signature and the rest.

        Args:
            paths (Iterable[str]): Files to check.

        Returns:
            tuple: ``{path: problem or None}`` of the cached ones, and the paths to check.
        """
        known: Dict[str, Optional[str]] = {}
        unknown: List[str] = []
        self._seen = {}
        self._groups = (paths, _group_by_folder(paths))
        for folder, (names, folder_paths) in self._groups[1].items():
            cached = self.folders.get(folder)
            if cached is None:
                unknown.extend(folder_paths)
                continue
            current = folder_signatures(folder, names)
            self._seen[folder] = (names, current)
            if cached.names == names:
                expected = cached.signatures
            else:  # files added or removed: match the rest by name
                row_of = {name: row for row, name in enumerate(cached.names)}
                rows = [row_of.get(name, -1) for name in names]
                expected = cached.signatures[rows]
                expected[np.array(rows) < 0] = NO_SIGNATURE
            same = np.all(current == expected, axis=1) & (current[:, 0] >= 0)
            problems = cached.problems
            for index in np.flatnonzero(~same).tolist():
                unknown.append(folder_paths[index])
            if len(problems) == 0:
                known.update(dict.fromkeys(np.asarray(folder_paths, object)[same].tolist()))
            else:
                for index in np.flatnonzero(same).tolist():
                    known[folder_paths[index]] = problems.get(names[index])
        return known, unknown

    def record(self, verdicts: Dict[str, Optional[str]], keep: Iterable[str]) -> None:
        """Store new verdicts and forget files no longer listed.

        Args:
            verdicts (dict): ``{path: problem or None}`` just checked.
            keep (Iterable[str]): Every path of the split now (others are dropped).
        """
        settled = time.time_ns() - RACY_NS
        groups = self._groups[1] if keep is self._groups[0] else _group_by_folder(keep)
        checked_by_folder = _group_by_folder(verdicts)
        folders: Dict[str, _Folder] = {}
        for folder, (names, _) in groups.items():
            seen = self._seen.get(folder)
            cached = self.folders.get(folder)
            checked = checked_by_folder.get(folder, ([], []))[0]
            seen_now = seen is not None and seen[0] == names
            if not checked and seen_now and cached is not None and cached.names == names:
                folders[folder] = cached  # nothing new in this folder
                continue
            signatures = seen[1].copy() if seen_now else folder_signatures(folder, names)
            problems: Dict[str, str] = {}
            if cached is not None and cached.problems:
                listed = set(names)
                problems = {n: p for n, p in cached.problems.items() if n in listed}
            if checked:  # stat again after the check: what was checked is what is stored
                index_of = {name: i for i, name in enumerate(names)}
                rows = [index_of[name] for name in checked]
                signatures[rows] = folder_signatures(folder, checked)
                for name in checked:
                    problem = verdicts[osp.join(folder, name)]
                    if problem is None:
                        problems.pop(name, None)
                    else:
                        problems[name] = problem
            signatures[signatures[:, 1] >= settled] = NO_SIGNATURE  # the racy ones
            folders[folder] = _Folder(list(names), signatures, problems)
        self.changed = (
            self.changed
            or folders.keys() != self.folders.keys()
            or any(folders[f] is not self.folders.get(f) for f in folders)
        )
        self.folders = folders
        self._seen = {}
        self._groups = (None, {})

    def save(self) -> bool:
        """Write the cache atomically (temporary file + rename) if it changed.

        Returns:
            bool: False if it could not be written.
        """
        if not self.changed:
            return True
        data = dict(
            version=CACHE_VERSION,
            split_dir=self.split_dir,
            mode=self.mode,
            folders={folder: entry.to_json() for folder, entry in self.folders.items()},
        )
        folder = osp.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix='.scan-', suffix='.json', dir=folder)
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                f.write(json.dumps(data, separators=(',', ':')))  # C encoder: ~5x json.dump
            os.replace(tmp, self.path)
            self.changed = False
        except OSError:
            return False
        return True
