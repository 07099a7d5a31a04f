"""Remembering which files a scan found good, so an unchanged folder is re-checked by ``stat``.

The cache of a split folder is one JSON file (never pickle: a cache is data, not code) under
:func:`default_cache_dir`, named by a hash of the folder's absolute path, the scan mode and the
pixel limit, so a stricter scan or another limit never reuses a verdict. Each file's verdict
is kept with its signature ``(size, mtime_ns, ctime_ns, inode)``: any write, replacement,
rename or permission change alters one of them, and the file is checked again (a file
modified less than 2 s before a scan is not cached, so a rewrite within the same timestamp
tick cannot hide). A cache file
that cannot be read or parsed is ignored (and rewritten); one that cannot be written (a
read-only home) only costs the speed-up.
"""

import hashlib
import json
import os
import os.path as osp
import tempfile
import time
from typing import Dict, Iterable, List, Optional, Tuple

from .transforms.image_io import max_image_pixels

#: Bump when the meaning of a verdict changes: older caches are then ignored.
CACHE_VERSION = 1

#: Environment variable naming the cache folder.
CACHE_DIR_ENV = 'MMTL_CACHE_DIR'

#: A verdict is stored only for a file last modified this long before the scan: a file
#: rewritten within the file system's timestamp granularity (a few ms) of the scan could keep
#: its size and times (the "racy" case git guards against the same way).
RACY_NS = 2_000_000_000

Signature = Tuple[int, int, int, int]


def default_cache_dir() -> str:
    """``$MMTL_CACHE_DIR/scan``, else ``$XDG_CACHE_HOME/mmtl/scan``, else ``~/.cache/mmtl/scan``."""
    root = os.environ.get(CACHE_DIR_ENV)
    if not root:
        base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
        root = osp.join(base, 'mmtl')
    return osp.join(root, 'scan')


def file_signature(path: str) -> Optional[Signature]:
    """``(size, mtime_ns, ctime_ns, inode)`` of ``path``, following links; None if it fails."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


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
        self.entries: Dict[str, list] = self._load()
        self.changed = False

    def _load(self) -> Dict[str, list]:
        try:
            with open(self.path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        valid = (
            isinstance(data, dict)
            and data.get('version') == CACHE_VERSION
            and data.get('split_dir') == self.split_dir
            and isinstance(data.get('entries'), dict)
        )
        return data['entries'] if valid else {}

    def lookup(self, paths: Iterable[str]) -> Tuple[Dict[str, Optional[str]], List[str]]:
        """Split ``paths`` into those with a verdict for their current signature and the rest.

        Args:
            paths (Iterable[str]): Files to check.

        Returns:
            tuple: ``{path: problem or None}`` of the cached ones, and the paths to check.
        """
        known: Dict[str, Optional[str]] = {}
        unknown: List[str] = []
        entries = self.entries
        stat = os.stat
        for path in paths:
            entry = entries.get(path)
            if entry is not None:
                try:
                    info = stat(path)
                except OSError:
                    unknown.append(path)
                    continue
                if (
                    entry[0] == info.st_size
                    and entry[1] == info.st_mtime_ns
                    and entry[2] == info.st_ctime_ns
                    and entry[3] == info.st_ino
                ):
                    known[path] = entry[4]
                    continue
            unknown.append(path)
        return known, unknown

    def record(self, verdicts: Dict[str, Optional[str]], keep: Iterable[str]) -> None:
        """Store new verdicts and forget files no longer listed.

        Args:
            verdicts (dict): ``{path: problem or None}`` just checked.
            keep (Iterable[str]): Every path of the split now (others are dropped).
        """
        keep = set(keep)
        entries = {path: entry for path, entry in self.entries.items() if path in keep}
        self.changed = self.changed or len(entries) != len(self.entries)
        settled = time.time_ns() - RACY_NS
        for path, problem in verdicts.items():
            signature = file_signature(path)
            if signature is not None and signature[1] < settled:
                entries[path] = [*signature, problem]
                self.changed = True
        self.entries = entries

    def save(self) -> bool:
        """Write the cache atomically (temporary file + rename) if it changed.

        Returns:
            bool: False if it could not be written.
        """
        if not self.changed:
            return True
        data = dict(
            version=CACHE_VERSION, split_dir=self.split_dir, mode=self.mode, entries=self.entries
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
