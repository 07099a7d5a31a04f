"""A dataset of images sorted into one sub-folder per class."""

import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Set, Tuple, Union

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset

from mmtl.registry import DATASETS
from mmtl.utils.errors import BadDataError, ConfigError

from .scan import ScanReport, check_image_file, scan_image_files

#: Image file extensions read by default (compared case-insensitively).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.pgm', '.bmp', '.tif', '.tiff', '.webp')

#: What to do with files that cannot be read: stop with an error, or leave them out.
BAD_FILE_POLICIES = ('error', 'skip')


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
        bad_file_policy (str): What to do with files that cannot be read (corrupt, truncated,
            empty, not an image, unreadable, broken links) and with classes without images
            in the split that defines the classes: ``'error'`` stops with an error that
            lists the first ones; ``'skip'`` leaves the files out with one warning (an empty
            class keeps its label index). Defaults to ``'error'``.
        scan_files (bool): Check every file when the dataset is built (see
            :mod:`mmtl.datasets.scan`; about 0.1 ms per JPEG photo). Defaults to True.
        max_runtime_bad_files (int): Files that fail to load *during* training (after the
            scan) are logged and replaced by other samples; this many, per process, and the
            run stops with an error instead. Defaults to 20.
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
        bad_file_policy: str = 'error',
        scan_files: bool = True,
        max_runtime_bad_files: int = 20,
        **kwargs,
    ) -> None:
        if bad_file_policy not in BAD_FILE_POLICIES:
            raise ConfigError(
                f'bad_file_policy={bad_file_policy!r}: expected one of {BAD_FILE_POLICIES}'
            )
        self.extensions = tuple(sorted({ext.lower() for ext in extensions}))
        self.class_folder = class_folder
        self.bad_file_policy = bad_file_policy
        self.scan_files = scan_files
        self.max_runtime_bad_files = max_runtime_bad_files
        self.runtime_bad_files: Set[str] = set()
        self.scan_report: Optional[ScanReport] = None
        if isinstance(classes, str):
            classes = self._resolve_classes_file(classes, data_root)
        super().__init__(
            ann_file='', data_root=data_root, data_prefix=data_prefix, classes=classes, **kwargs
        )

    @classmethod
    def count_classes(cls, dataset_cfg: dict) -> Optional[Tuple[int, str]]:
        """Classes a dataset of this config will have, and where they come from, read
        before it is built (the config checks compare it with the head's ``num_classes``).

        Args:
            dataset_cfg (dict): The dataset's config (``data_root`` already applied).

        Returns:
            tuple | None: ``(count, source)``; None when it cannot be told yet.
        """
        data_root = osp.expanduser(str(dataset_cfg.get('data_root') or ''))
        classes = dataset_cfg.get('classes')
        if isinstance(classes, (list, tuple)):
            return len(classes), 'classes'
        if isinstance(classes, str):
            try:
                path = cls._resolve_classes_file(classes, data_root)
            except FileNotFoundError:
                return None
            with open(path, encoding='utf-8') as f:
                return sum(1 for line in f if line.strip()), path
        folder = dataset_cfg.get('class_folder') or dataset_cfg.get('data_prefix') or ''
        if isinstance(folder, dict):
            folder = folder.get('img_path', '')
        class_dir = osp.join(data_root, folder)
        if not osp.isdir(class_dir):
            return None
        return len(list_class_folders(class_dir)), class_dir

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

    def _defines_classes(self) -> bool:
        """Whether this split's folders are the class list (the train split, usually)."""
        if self.class_folder is None:
            return True
        return osp.normpath(osp.join(self.data_root, self.class_folder)) == osp.normpath(
            self.img_prefix
        )

    def load_data_list(self) -> List[dict]:
        """Scan the split folder and return ``{'img_path', 'gt_label'}`` per image.

        Files that cannot be read and classes without images are handled by
        ``bad_file_policy``.
        """
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

        data_list, counts = [], dict.fromkeys(classes, 0)
        for folder in folders:
            files = list_image_files(osp.join(split_dir, folder), self.extensions)
            counts[folder] = len(files)
            label = class_to_idx[folder]
            data_list.extend({'img_path': path, 'gt_label': label} for path in files)
        if not data_list:
            raise RuntimeError(
                f'found no images in the class folders of {split_dir!r}; '
                f'supported extensions are {", ".join(self.extensions)}'
            )
        report = self._scan(data_list, counts, split_dir)
        bad = set(report.bad_paths)
        return [info for info in data_list if info['img_path'] not in bad]

    def _scan(self, data_list: List[dict], counts: dict, split_dir: str) -> ScanReport:
        """Check the files and classes of the split and apply ``bad_file_policy``."""
        paths = [info['img_path'] for info in data_list] if self.scan_files else []
        report = scan_image_files(paths, list(counts.items()))
        dangling = list_dangling_links(split_dir)
        report.bad_files.extend((path, 'broken symbolic link or link loop') for path in dangling)
        self.scan_report = report
        logger = MMLogger.get_current_instance()
        if self.scan_files:
            logger.info(
                f'{split_dir}: checked {report.num_files} files in {report.seconds:.1f} s, '
                f'{len(report.bad_files)} cannot be read'
            )
        empty = report.empty_classes
        if empty and not self._defines_classes():
            # A val/test split may lack a class: labels come from the train split anyway.
            logger.warning(f'{split_dir}: no images for classes {empty}')
            empty = []
        if not report.bad_files and not empty:
            return report
        problems = []
        if report.bad_files:
            problems.append(report.describe_bad_files())
        if empty:
            problems.append(
                f'{len(empty)} of {len(counts)} classes have no images: {empty} '
                f'(a class without training images cannot be learnt)'
            )
        message = f'{split_dir}: ' + '. '.join(problems) + '.'
        if self.bad_file_policy == 'error':
            raise BadDataError(
                f"{message} Fix or remove them, or set bad_file_policy='skip' in the "
                f'dataset to leave bad files out (e.g. --cfg-options '
                f'train_dataloader.dataset.bad_file_policy=skip; empty classes keep their '
                f'label index).'
            )
        logger.warning(f"{message} Skipped (bad_file_policy='skip').")
        return report

    def prepare_data(self, idx: int) -> Any:
        """Load and transform sample ``idx``; None for a file that went bad after the scan.

        mmengine's ``BaseDataset.__getitem__`` then draws another sample in training. A
        failure that is not the file's fault (it still checks as a good image) is raised
        as is, so pipeline bugs are not hidden.
        """
        path = self.get_data_info(idx)['img_path']
        if path in self.runtime_bad_files:
            return None
        try:
            return super().prepare_data(idx)
        except Exception as err:
            problem = check_image_file(path)
            if problem is None:
                raise
            self._record_runtime_bad_file(path, problem, err)
            return None

    def _record_runtime_bad_file(self, path: str, problem: str, err: Exception) -> None:
        self.runtime_bad_files.add(path)
        count = len(self.runtime_bad_files)
        if self.test_mode:
            raise BadDataError(
                f'{path} can no longer be read ({problem}); evaluation needs every file. '
                f'Restore or remove it.'
            ) from err
        if count > self.max_runtime_bad_files:
            raise BadDataError(
                f'{count} files failed to load during training (more than '
                f'max_runtime_bad_files={self.max_runtime_bad_files}), latest {path} '
                f'({problem}). Is the data folder being changed or the disk failing?'
            ) from err
        MMLogger.get_current_instance().warning(
            f'skipping {path}: it can no longer be read ({problem}); another sample is used '
            f'in its place ({count} so far in this process)'
        )
