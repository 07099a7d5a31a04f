"""A dataset of images sorted into one sub-folder per class."""

import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset

from mmtl.registry import DATASETS

#: Image file extensions read by default (compared case-insensitively).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.pgm', '.bmp', '.tif', '.tiff', '.webp')


def visible_entries(directory: str) -> List[os.DirEntry]:
    """Entries of ``directory`` whose names do not start with a dot, sorted by name.

    Hidden entries such as ``.ipynb_checkpoints`` or ``.DS_Store`` are never data.
    """
    with os.scandir(directory) as it:
        entries = [e for e in it if not e.name.startswith('.')]
    return sorted(entries, key=lambda e: e.name)


def list_class_folders(directory: str) -> List[str]:
    """Names of the visible sub-folders of ``directory``, sorted."""
    return [e.name for e in visible_entries(directory) if e.is_dir()]


def list_image_files(directory: str, extensions: Tuple[str, ...]) -> List[str]:
    """Paths of the image files under ``directory`` (recursively), sorted.

    Args:
        directory (str): Folder to walk. Hidden files and folders are skipped, and
            symbolic links to folders are not followed (no loops).
        extensions (tuple[str]): Lower-case extensions to keep.

    Returns:
        list[str]: File paths.
    """
    files = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        files.extend(
            osp.join(root, name)
            for name in sorted(names)
            if not name.startswith('.') and osp.splitext(name)[1].lower() in extensions
        )
    return files


@DATASETS.register_module()
class FolderDataset(BaseDataset):
    """Images in one sub-folder per class: ``data_root/data_prefix/<class>/<image>``.

    Unlike a plain per-folder scan, the class list is fixed once for all splits: by
    ``classes`` if given, else by the sub-folders of ``class_folder`` (the train split in the
    base configs), so that a val or test split with a missing class keeps the same label
    indices. A sub-folder that is not a known class is an error, not a silent new class.

    Args:
        data_root (str): Root of the dataset, e.g. ``'data/fruit30_split'``.
        data_prefix (str): The split folder under ``data_root``, e.g. ``'train'``.
        classes (str | Sequence[str], optional): Class names in label order, or the path of
            a text file with one name per line (a relative path is looked up under
            ``data_root`` first).
            Defaults to None: classes are the sorted sub-folder names.
        class_folder (str, optional): Folder (under ``data_root``) whose sub-folders define
            the classes when ``classes`` is None; it must exist. Defaults to None:
            ``data_prefix`` itself.
        extensions (Sequence[str]): Image extensions to read. Defaults to
            :data:`IMG_EXTENSIONS`.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``lazy_init`` ...).
    """

    def __init__(
        self,
        data_root: str = '',
        data_prefix: str = '',
        classes: Union[str, Sequence[str], None] = None,
        class_folder: Optional[str] = None,
        extensions: Sequence[str] = IMG_EXTENSIONS,
        **kwargs,
    ) -> None:
        self.extensions = tuple(sorted({ext.lower() for ext in extensions}))
        self.class_folder = class_folder
        if isinstance(classes, str):
            classes = self._resolve_classes_file(classes, data_root)
        super().__init__(
            ann_file='', data_root=data_root, data_prefix=data_prefix, classes=classes, **kwargs
        )

    @staticmethod
    def _resolve_classes_file(path: str, data_root: str) -> str:
        path = osp.expanduser(path)
        candidates = [path] if osp.isabs(path) else [osp.join(data_root, path), path]
        for candidate in candidates:
            if osp.isfile(candidate):
                return candidate
        raise FileNotFoundError(
            f'classes file {path!r} not found (looked at {", ".join(candidates)})'
        )

    def _split_dir(self) -> str:
        split_dir = self.img_prefix
        if not osp.isdir(split_dir):
            raise FileNotFoundError(
                f'dataset folder {split_dir!r} does not exist. Check `data_root` '
                f'({self.data_root!r}) and `data_prefix` in the config, e.g. '
                f'--cfg-options data_root=path/to/dataset (with train/, val/, test/ inside).'
            )
        return split_dir

    def _class_names(self, split_dir: str) -> Tuple[str, ...]:
        if self.CLASSES is not None:
            return tuple(self.CLASSES)
        source = split_dir
        if self.class_folder is not None:
            source = osp.join(self.data_root, self.class_folder)
            if not osp.isdir(source):
                raise FileNotFoundError(
                    f'class_folder {source!r} does not exist: it should hold one sub-folder per '
                    f'class (usually the train split), or set `classes` instead'
                )
        names = list_class_folders(source)
        if not names:
            raise RuntimeError(
                f'no class sub-folders found in {source!r}: expected one folder per class, '
                f'e.g. {source}/apple/001.jpg'
            )
        return tuple(names)

    def load_data_list(self) -> List[dict]:
        """Scan the split folder and return ``{'img_path', 'gt_label'}`` per image."""
        split_dir = self._split_dir()
        classes = self._class_names(split_dir)
        self._metainfo['classes'] = classes
        class_to_idx = {name: idx for idx, name in enumerate(classes)}

        folders = list_class_folders(split_dir)
        unknown = [f for f in folders if f not in class_to_idx]
        if unknown:
            raise ValueError(
                f'{split_dir!r} has sub-folders that are not among the {len(classes)} classes '
                f'{list(classes)[:10]}{"..." if len(classes) > 10 else ""}: {unknown}. '
                f'Rename or remove them, or fix `classes`.'
            )

        data_list, empty = [], []
        for folder in folders:
            files = list_image_files(osp.join(split_dir, folder), self.extensions)
            if not files:
                empty.append(folder)
            label = class_to_idx[folder]
            data_list.extend({'img_path': path, 'gt_label': label} for path in files)
        if not data_list:
            raise RuntimeError(
                f'found no images in the class folders of {split_dir!r}; '
                f'supported extensions are {", ".join(self.extensions)}'
            )
        missing = [c for c in classes if c not in folders]
        if empty or missing:
            MMLogger.get_current_instance().warning(
                f'{split_dir}: no images for classes {sorted(set(empty) | set(missing))}'
            )
        return data_list
