"""Remembering which files a scan found good, so an unchanged folder is re-checked by ``stat``.

One JSON file per split folder (never pickle: a cache is data), named by a hash of the folder,
the scan mode and the pixel limit. Per sub-folder it holds the file names, their
:func:`~mmtl.utils.fileio.file_signature` rows (one base64 block of little-endian int64) and
the bad files' problems; a changed signature re-checks the file.
"""

import base64
import contextlib
import hashlib
import json
import os
import os.path as osp
import time
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from mmtl.utils.fileio import NO_SIGNATURE, atomic_open, default_cache_dir, file_signature

from .transforms.image_io import max_image_pixels

#: Bump when the meaning of a verdict or the layout changes: older caches are then ignored.
CACHE_VERSION = 2

#: A verdict is stored only for a file last modified this long before the scan (a rewrite
#: within the same timestamp tick could keep its signature).
RACY_NS = 2_000_000_000

#: One folder's cache: file names, their signature rows, the bad files' problems by name.
Folder = Tuple[List[str], np.ndarray, Dict[str, str]]


def folder_signatures(folder: str, names: List[str]) -> np.ndarray:
    """:func:`~mmtl.utils.fileio.file_signature` of ``names`` inside ``folder``, as rows of one
    ``(n, 4)`` int64 array (stat'ed through one directory descriptor: the kernel does not walk
    the whole path again for every file)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return np.full((len(names), 4), -1, np.int64)
    try:
        return np.array([file_signature(name, fd) for name in names], np.int64).reshape(-1, 4)
    finally:
        os.close(fd)


def _group_by_folder(paths: Iterable[str]) -> Dict[str, Tuple[List[str], List[str]]]:
    """``{folder: (names, paths)}`` in the order of ``paths``."""
    groups: Dict[str, Tuple[List[str], List[str]]] = {}
    for path in paths:
        folder, _, name = path.rpartition(os.sep)
        names, folder_paths = groups.setdefault(folder, ([], []))
        names.append(name)
        folder_paths.append(path)
    return groups


def _parse_folder(entry: dict) -> Optional[Folder]:
    """A folder's cache from its JSON entry; None when the entry is damaged."""
    try:
        names, problems = list(entry['names']), dict(entry['problems'])
        rows = np.frombuffer(base64.b64decode(entry['signatures'], validate=True), '<i8')
        return names, rows.reshape(len(names), 4).astype(np.int64), problems
    except (KeyError, TypeError, ValueError):  # binascii.Error is a ValueError
        return None


class ScanCache:
    """Verdicts of earlier scans of one split folder.

    Args:
        split_dir (str): The folder scanned.
        mode (str): The scan mode (``'header'`` or ``'decode'``).
        cache_dir (str, optional): Where cache files go. Defaults to ``default_cache_dir('scan')``.
    """

    def __init__(self, split_dir: str, mode: str, cache_dir: Optional[str] = None) -> None:
        key = json.dumps([osp.abspath(split_dir), mode, max_image_pixels(), CACHE_VERSION])
        name = hashlib.sha1(key.encode('utf-8', 'surrogateescape')).hexdigest()[:24]
        self.path = osp.join(cache_dir or default_cache_dir('scan'), f'{name}.json')
        self.split_dir = osp.abspath(split_dir)
        self.mode = mode
        self._text = ''  # the file as read: an unchanged cache is not written again
        self.folders: Dict[str, Folder] = self._load()
        self._seen: Dict[str, Tuple[List[str], np.ndarray]] = {}  # signatures of lookup

    def _load(self) -> Dict[str, Folder]:
        try:
            with open(self.path, encoding='utf-8') as f:
                self._text = f.read()
            data = json.loads(self._text)
        except (OSError, ValueError):
            return {}
        valid = (
            isinstance(data, dict)
            and data.get('version') == CACHE_VERSION
            and data.get('split_dir') == self.split_dir
            and isinstance(data.get('folders'), dict)
        )
        folders = {f: _parse_folder(e) for f, e in data['folders'].items()} if valid else {}
        return {folder: entry for folder, entry in folders.items() if entry is not None}

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
        for folder, (names, folder_paths) in _group_by_folder(paths).items():
            cached = self.folders.get(folder)
            if cached is None:
                unknown.extend(folder_paths)
                continue
            current = folder_signatures(folder, names)
            self._seen[folder] = (names, current)
            cached_names, signatures, problems = cached
            if cached_names == names:
                expected = signatures
            else:  # files added or removed: match the rest by name
                row_of = {name: row for row, name in enumerate(cached_names)}
                rows = np.array([row_of.get(name, -1) for name in names], np.int64)
                expected = np.full_like(current, -1)
                expected[rows >= 0] = signatures[rows[rows >= 0]]
            same = (np.all(current == expected, axis=1) & (current[:, 0] >= 0)).tolist()
            for path, name, hit in zip(folder_paths, names, same):
                if hit:
                    known[path] = problems.get(name)
                else:
                    unknown.append(path)
        return known, unknown

    def record(self, verdicts: Dict[str, Optional[str]], keep: Iterable[str]) -> None:
        """Store new verdicts and forget files no longer listed.

        Args:
            verdicts (dict): ``{path: problem or None}`` just checked.
            keep (Iterable[str]): Every path of the split now (others are dropped).
        """
        settled = time.time_ns() - RACY_NS
        checked = _group_by_folder(verdicts)
        folders: Dict[str, Folder] = {}
        for folder, (names, _) in _group_by_folder(keep).items():
            seen = self._seen.get(folder)
            if seen is not None and seen[0] == names:
                signatures = seen[1].copy()
            else:
                signatures = folder_signatures(folder, names)
            listed = set(names)
            old_problems = self.folders.get(folder, ([], None, {}))[2]
            problems = {n: p for n, p in old_problems.items() if n in listed}
            new_names, new_paths = checked.get(folder, ([], []))
            if new_names:  # stat again after the check: what was checked is what is stored
                index_of = {name: i for i, name in enumerate(names)}
                signatures[[index_of[n] for n in new_names]] = folder_signatures(folder, new_names)
                for name, path in zip(new_names, new_paths):
                    problems.pop(name, None)
                    if verdicts[path] is not None:
                        problems[name] = verdicts[path]
            signatures[signatures[:, 1] >= settled] = NO_SIGNATURE  # the racy ones
            folders[folder] = (list(names), signatures, problems)
        self.folders = folders
        self._seen = {}

    def save(self) -> None:
        """Write the cache atomically if it changed (one that cannot be written only costs the
        speed-up)."""
        folders = {
            folder: dict(
                names=names,
                signatures=base64.b64encode(rows.astype('<i8').tobytes()).decode('ascii'),
                problems=problems,
            )
            for folder, (names, rows, problems) in self.folders.items()
        }
        data = dict(
            version=CACHE_VERSION, split_dir=self.split_dir, mode=self.mode, folders=folders
        )
        text = json.dumps(data, separators=(',', ':'))
        if text != self._text:
            with contextlib.suppress(OSError):
                with atomic_open(self.path, 'w') as f:
                    f.write(text)
                self._text = text
