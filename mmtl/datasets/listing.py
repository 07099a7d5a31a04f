"""Listing a class-folder dataset: class folders, image files, dangling links.

Standard library only (no torch, no mmengine), so that tools which only look at files, such
as ``tools/check_dataset.py``, need not import the training stack.
:mod:`mmtl.datasets.folder_dataset` re-exports these names.
"""

import os
import os.path as osp
from typing import List, Optional, Tuple

__all__ = [
    'IMG_EXTENSIONS',
    'list_class_folders',
    'list_dangling_links',
    'list_image_files',
    'visible_entries',
]

#: Image file extensions read by default (compared case-insensitively).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.pgm', '.bmp', '.tif', '.tiff', '.webp')


def visible_entries(directory: str) -> List[os.DirEntry]:
    """Entries of ``directory`` whose names do not start with a dot, sorted by name.

    Hidden entries such as ``.ipynb_checkpoints`` or ``.DS_Store`` are never data.
    """
    with os.scandir(directory) as it:
        entries = [e for e in it if not e.name.startswith('.')]
    return sorted(entries, key=lambda e: e.name)


def _is_dir(entry: os.DirEntry) -> bool:
    """``entry.is_dir()``, False for a symbolic link that cannot be followed (e.g. a loop)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def list_class_folders(directory: str) -> List[str]:
    """Names of the visible sub-folders of ``directory``, sorted."""
    return [e.name for e in visible_entries(directory) if _is_dir(e)]


def list_dangling_links(directory: str) -> List[str]:
    """Paths of the visible symbolic links in ``directory`` that lead nowhere (or loop)."""
    return [e.path for e in visible_entries(directory) if e.is_symlink() and not osp.exists(e.path)]


def list_image_files(
    directory: str,
    extensions: Tuple[str, ...],
    unreadable: Optional[List[Tuple[str, str]]] = None,
) -> List[str]:
    """Paths of the image files under ``directory`` (recursively), sorted.

    Args:
        directory (str): Folder to walk. Hidden files and folders are skipped, and
            symbolic links to folders are not followed (no loops).
        extensions (tuple[str]): Lower-case extensions to keep.
        unreadable (list, optional): Receives ``(folder, reason)`` for each folder that
            cannot be listed (e.g. no permission). Defaults to None: such a folder raises
            its ``OSError`` (a folder is never skipped in silence).

    Returns:
        list[str]: File paths.
    """

    def on_error(error: OSError) -> None:
        if unreadable is None:
            raise error
        unreadable.append((error.filename or directory, f'unreadable folder: {error.strerror}'))

    files = []
    for root, dirs, names in os.walk(directory, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        files.extend(
            osp.join(root, name)
            for name in sorted(names)
            if not name.startswith('.') and osp.splitext(name)[1].lower() in extensions
        )
    return files
