"""A dataset of images sorted into one sub-folder per class."""

import os.path as osp
from typing import Any, List, Optional, Sequence, Set, Tuple, Union

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset

from mmtl.config.access import transform_name
from mmtl.config.resolve import AUTO_SIZE_KEYS
from mmtl.registry import DATASETS
from mmtl.utils.errors import BadDataError, ConfigError
from mmtl.utils.prediction_rows import safe_text

from .bad_file_record import BadFileRecord
from .image_cache import CACHE_MODES, ImageCache
from .listing import IMG_EXTENSIONS, list_class_folders, list_class_images, list_dangling_links
from .scan import ScanReport, check_image_file, decode_problem, scan_image_files
from .scan_cache import ScanCache
from .transforms.image_io import ImageDecodeError
from .transforms.loading import CACHE_SLOT_KEY, _LoadBase

#: What to do with files that cannot be read: stop with an error, or leave them out.
BAD_FILE_POLICIES = ('error', 'skip')

#: ``scan_files``: ``'header'`` reads headers and end markers, ``'decode'`` also decodes each
#: file, ``'auto'`` is ``'decode'`` for an evaluation split and ``'header'`` for training.
SCAN_MODES = ('auto', 'header', 'decode', 'none')

#: ``split_role``: training (a bad file may be replaced by another sample) or evaluation.
SPLIT_ROLES = ('auto', 'train', 'eval')

#: Split folder names taken as evaluation splits by ``split_role='auto'``.
EVAL_SPLIT_NAMES = ('val', 'valid', 'validation', 'test', 'testing', 'eval')


def check_distinct_classes(names: Sequence[str], source: str, places: Sequence[str]) -> None:
    """Refuse a class named twice in ``names`` (one of its outputs would never be trained),
    naming ``source`` and both ``places`` (``'line 3'``) in a :class:`ConfigError`."""
    first: dict = {}
    for name, place in zip(names, places):
        if name in first:
            raise ConfigError(
                f'{source}: class {safe_text(name)!r} at {place} is already at {first[name]}: '
                f'name each class once (a repeated class gets a label that no image has)'
            )
        first[name] = place


def read_classes_file(path: str) -> Tuple[str, ...]:
    """The class names of a classes file: one per line, in label order, blank lines skipped.

    Raises:
        ConfigError: A name is repeated (both lines named), or the file is not UTF-8 text.
    """
    names, places = [], []
    try:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, start=1):
                name = line.rstrip('\r\n')
                if name.strip():
                    names.append(name)
                    places.append(f'line {number}')
    except UnicodeDecodeError as err:
        raise ConfigError(f'classes file {path} is not UTF-8 text: {err.reason}') from None
    check_distinct_classes(names, f'classes file {path}', places)
    return tuple(names)


class RuntimeBadDataError(BadDataError):
    """A :class:`BadDataError` raised while loading. torch re-raises a dataloader worker's
    exception as ``type('Caught ... Original Traceback ... <type>: <message>')``: the error
    keeps the original one-line message."""

    def __init__(self, message: str = '') -> None:
        message = str(message)
        if message.startswith('Caught ') and 'Original Traceback' in message:
            message = message.rstrip().rpartition(f'{type(self).__name__}: ')[2]
        super().__init__(message)


def refuse_unresolved_sizes(pipeline: Sequence[Any]) -> None:
    """Refuse a pipeline whose sizes still say ``'auto'`` (resolved by mmtl's config loading).

    Raises:
        ConfigError: Naming the step and the key.
    """
    for index, step in enumerate(pipeline):
        if not isinstance(step, dict):
            continue
        name = transform_name(step)
        for (step_type, key), _ in AUTO_SIZE_KEYS.items():
            if step_type == name and step.get(key) == 'auto':
                raise ConfigError(
                    f"pipeline.{index} ({step.get('type')}): {key}='auto' follows the config's "
                    f'input_size, which mmtl applies when it loads the config: build from '
                    f'mmtl.config.load_config(path), or resolve_config(Config.fromfile(path))'
                )


@DATASETS.register_module()
class FolderDataset(BaseDataset):
    """Images in one sub-folder per class: ``data_root/data_prefix/<class>/<image>``.

    The class list is the same for all splits (``classes``, else the sub-folders of
    ``class_folder``), so a split missing a class keeps the label indices.

    Args:
        data_root (str): Root of the dataset, e.g. ``'data/fruit30_split'``.
        data_prefix (str): The split folder under ``data_root``, e.g. ``'train'``.
        classes (str | Sequence[str], optional): Class names in label order, or the path of
            a text file with one name per line (a relative path is read under
            ``data_root``). Defaults to None: the sorted sub-folder names.
        class_folder (str, optional): Folder (under ``data_root``) whose sub-folders define
            the classes when ``classes`` is None; it must exist. Defaults to None:
            ``data_prefix`` itself.
        extensions (Sequence[str]): Image extensions to read. Defaults to
            :data:`IMG_EXTENSIONS`.
        bad_file_policy (str): Files that cannot be read, and classes without images in the
            split that defines the classes: ``'error'`` stops, listing the first ones;
            ``'skip'`` leaves the files out with one warning. Defaults to ``'error'``.
        scan_files (bool | str): How the files are checked when the dataset is built, one
            of :data:`SCAN_MODES` (True is ``'auto'``, False is ``'none'``). Defaults to
            ``'auto'``.
        split_role (str): One of :data:`SPLIT_ROLES`; ``'auto'`` is evaluation if
            ``test_mode`` is set, the classes come from another folder, or the folder is
            named like ``val`` / ``test``. Defaults to ``'auto'``.
        max_runtime_bad_files (int): In training, files that fail to load during the run
            are logged once and replaced by other samples; more than this many stop the run.
            A file corrupt inside (``bad_file_policy='error'``) or any bad file of an
            evaluation split stops at once. Defaults to 20.
        scan_cache (bool): Remember the scan's verdicts (:mod:`mmtl.datasets.scan_cache`).
            Defaults to True.
        scan_workers (int, optional): Processes for the scan. Defaults to None:
            :func:`~mmtl.datasets.scan.default_scan_workers`.
        cache (str, optional): Keep decoded images for the epochs after the first:
            ``'ram'`` or ``'disk'`` (:mod:`mmtl.datasets.image_cache`). Needs an mmtl loading
            transform first in the pipeline. Defaults to None: decode every time.
        cache_dir (str, optional): Folder of the disk cache. Defaults to None:
            ``default_cache_dir('images')``.
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
        scan_files: Union[bool, str] = 'auto',
        split_role: str = 'auto',
        max_runtime_bad_files: int = 20,
        scan_cache: bool = True,
        scan_workers: Optional[int] = None,
        cache: Optional[str] = None,
        cache_dir: Optional[str] = None,
        **kwargs,
    ) -> None:
        scan_mode = {True: 'auto', False: 'none'}.get(scan_files, scan_files)
        for key, value, choices in (
            ('cache', cache, CACHE_MODES + (None,)),
            ('bad_file_policy', bad_file_policy, BAD_FILE_POLICIES),
            ('scan_files', scan_mode, SCAN_MODES),
            ('split_role', split_role, SPLIT_ROLES),
        ):
            if value not in choices:
                raise ConfigError(f'{key}={value!r}: expected one of {choices}')
        self.cache = cache
        self.cache_dir = cache_dir
        self.image_cache: Optional[ImageCache] = None
        self.extensions = tuple(sorted({ext.lower() for ext in extensions}))
        self.class_folder = class_folder
        self.bad_file_policy = bad_file_policy
        self.scan_mode = scan_mode
        self.split_role = split_role
        self.max_runtime_bad_files = max_runtime_bad_files
        self.scan_cache = scan_cache
        self.scan_workers = scan_workers
        self.runtime_bad_files: Set[str] = set()
        self.runtime_record: Optional[BadFileRecord] = None
        self.scan_report: Optional[ScanReport] = None
        refuse_unresolved_sizes(kwargs.get('pipeline') or [])
        if isinstance(classes, str):
            classes = read_classes_file(self._resolve_classes_file(classes, data_root))
        elif classes is not None:
            places = [f'classes[{index}]' for index in range(len(classes))]
            check_distinct_classes(classes, "the dataset's classes", places)
        super().__init__(
            ann_file='', data_root=data_root, data_prefix=data_prefix, classes=classes, **kwargs
        )
        if not self.is_evaluation:  # made in the main process: every worker shares it
            self.runtime_record = BadFileRecord()

    @classmethod
    def count_classes(cls, dataset_cfg: dict) -> Optional[Tuple[int, str]]:
        """``(count, source)`` of the classes a dataset of ``dataset_cfg`` will have, read
        before it is built; None when it cannot be told yet."""
        data_root = osp.expanduser(str(dataset_cfg.get('data_root') or ''))
        classes = dataset_cfg.get('classes')
        if isinstance(classes, (list, tuple)):
            return len(classes), 'classes'
        if isinstance(classes, str):
            try:
                path = cls._resolve_classes_file(classes, data_root)
            except FileNotFoundError:
                return None
            return len(read_classes_file(path)), path
        folder = dataset_cfg.get('class_folder') or dataset_cfg.get('data_prefix') or ''
        if isinstance(folder, dict):
            folder = folder.get('img_path', '')
        class_dir = osp.join(data_root, folder)
        if not osp.isdir(class_dir):
            return None
        count = len(list_class_folders(class_dir))
        return (count, class_dir) if count else None  # none: building it says so

    @staticmethod
    def _resolve_classes_file(path: str, data_root: str) -> str:
        """An absolute path as is; a relative one under ``data_root`` only (never the
        current directory, where a stray ``classes.txt`` would give other labels)."""
        path = osp.expanduser(path)
        candidate = path if osp.isabs(path) else osp.join(data_root, path)
        if osp.isfile(candidate):
            return candidate
        where = 'as given' if osp.isabs(path) else f'under data_root {data_root!r}'
        raise FileNotFoundError(
            f'classes file {path!r} not found {where} (looked at {candidate}); a relative '
            f'classes path is read from data_root, never from the current directory'
        )

    @property
    def is_evaluation(self) -> bool:
        """Whether this split is evaluated (every image counts) rather than trained on."""
        if self.split_role != 'auto':
            return self.split_role == 'eval'
        if self.test_mode or not self._defines_classes():
            return True
        name = osp.basename(osp.normpath(self.img_prefix or '.')).lower()
        return name in EVAL_SPLIT_NAMES

    def _policy_key(self) -> str:
        """The config key of this dataset's ``bad_file_policy``, for error messages."""
        loader = 'train'
        if self.is_evaluation:
            name = osp.basename(osp.normpath(self.img_prefix or '.')).lower()
            loader = 'test' if name.startswith('test') else 'val'
        return f'{loader}_dataloader.dataset.bad_file_policy'

    def _class_names(self, split_dir: str) -> Tuple[str, ...]:
        if self.CLASSES is not None:
            return tuple(self.CLASSES)
        source = split_dir
        if self.class_folder is not None:
            source = osp.join(self.data_root, self.class_folder)
        names = list_class_folders(source)
        if not names:
            raise BadDataError(
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
        """Scan the split folder: ``{'img_path', 'gt_label'}`` per image, bad files and empty
        classes handled by ``bad_file_policy``."""
        split_dir = self.img_prefix
        if not osp.isdir(split_dir):
            raise FileNotFoundError(
                f'dataset folder {split_dir!r} does not exist. Check `data_root` '
                f'({self.data_root!r}) and `data_prefix` in the config, e.g. '
                f'--cfg-options data_root=path/to/dataset (with train/, val/, test/ inside).'
            )
        classes = self._class_names(split_dir)
        self._metainfo['classes'] = classes
        class_to_idx = {name: idx for idx, name in enumerate(classes)}

        unreadable: List[Tuple[str, str]] = []
        per_class = list_class_images(split_dir, self.extensions, unreadable)
        unknown = [f for f in per_class if f not in class_to_idx]
        if unknown:
            raise ValueError(
                f'{split_dir!r} has sub-folders that are not among the {len(classes)} classes '
                f'{list(classes)[:10]}{"..." if len(classes) > 10 else ""}: {unknown}. '
                f'Rename or remove them, or fix `classes`.'
            )

        data_list, counts = [], dict.fromkeys(classes, 0)
        for folder, files in per_class.items():
            counts[folder] = len(files)
            data_list.extend({'img_path': path, 'gt_label': class_to_idx[folder]} for path in files)
        if not data_list:
            raise BadDataError(
                f'found no images in the class folders of {split_dir!r}; '
                f'supported extensions are {", ".join(self.extensions)}'
            )
        report = self._scan(data_list, counts, split_dir, unreadable)
        bad = set(report.bad_paths)
        return [info for info in data_list if info['img_path'] not in bad]

    @property
    def effective_scan_mode(self) -> str:
        """``scan_files`` with ``'auto'`` resolved for this split."""
        if self.scan_mode != 'auto':
            return self.scan_mode
        return 'decode' if self.is_evaluation else 'header'

    def _scan(
        self, data_list: List[dict], counts: dict, split_dir: str, unreadable: list
    ) -> ScanReport:
        """Check the files and classes of the split and apply ``bad_file_policy``."""
        mode = self.effective_scan_mode
        paths = [info['img_path'] for info in data_list] if mode != 'none' else []
        cache = ScanCache(split_dir, mode) if self.scan_cache and mode != 'none' else None
        report = scan_image_files(
            paths,
            list(counts.items()),
            decode=mode == 'decode',
            workers=self.scan_workers,
            cache=cache,
        )
        dangling = list_dangling_links(split_dir)
        report.bad_files.extend((path, 'broken symbolic link or link loop') for path in dangling)
        report.bad_files.extend(unreadable)
        self.scan_report = report
        logger = MMLogger.get_current_instance()
        if mode != 'none':
            reused = f', {report.cached} unchanged since the last scan' if report.cached else ''
            logger.info(
                f'{split_dir}: checked {report.num_files} files ({mode}{reused}) in '
                f'{report.seconds:.1f} s, {len(report.bad_files)} cannot be read'
            )
        empty = report.empty_classes
        if empty and self.is_evaluation:
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
                f'{self._policy_key()}=skip; empty classes keep their label index).'
            )
        logger.warning(f"{message} Skipped (bad_file_policy='skip').")
        return report

    def full_init(self) -> None:
        """Load the data list, then make the image cache in this (the main) process, so that
        dataloader workers share it."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.cache is None:
            return
        loader = self.pipeline.transforms[0] if self.pipeline.transforms else None
        if not isinstance(loader, _LoadBase):
            raise ConfigError(
                f'{self.img_prefix}: cache={self.cache!r} needs an mmtl loading transform '
                f'(LoadImage or LoadAndRandomResizedCrop) first in the pipeline, got {loader!r}'
            )
        paths = [self.get_data_info(i)['img_path'] for i in range(len(self))]
        self.image_cache = ImageCache(
            paths, self.cache, f'dataset {self.img_prefix}', self.cache_dir, loader.decode_key
        )

    def prepare_data(self, idx: int) -> Any:
        """Load and transform sample ``idx``; None for a training file that cannot be loaded
        (mmengine's ``BaseDataset.__getitem__`` then draws another sample). An error is the
        file's fault if it no longer passes the scan or the decoder fails on it; any other
        error is a pipeline bug and is raised as is."""
        data_info = self.get_data_info(idx)
        path = data_info['img_path']
        if path in self.runtime_bad_files:
            return None
        try:
            if self.image_cache is not None:
                data_info[CACHE_SLOT_KEY] = (self.image_cache, idx)
            return self.pipeline(data_info)
        except Exception as err:
            problem = check_image_file(path)
            went_bad = problem is not None
            if not went_bad:
                problem = err.reason if isinstance(err, ImageDecodeError) else decode_problem(path)
                if problem is None:
                    raise
            self._runtime_bad_file(path, problem, err, went_bad)
            return None

    def _runtime_bad_file(self, path: str, problem: str, err: Exception, went_bad: bool) -> None:
        """Stop, naming the file and the key, or log the file once and skip it.

        Args:
            path (str): The file.
            problem (str): Why it cannot be loaded.
            err (Exception): The pipeline's error.
            went_bad (bool): It passed the scan and fails it now (changed since).

        Raises:
            BadDataError: In an evaluation split; in training, for a file corrupt inside
                under ``bad_file_policy='error'``, or beyond ``max_runtime_bad_files``.
        """
        key = self._policy_key()
        if self.is_evaluation:
            what = 'can no longer be read' if went_bad else 'cannot be decoded'
            raise RuntimeBadDataError(
                f'{safe_text(path)} {what} ({problem}); evaluation counts every image and never '
                f'replaces one, so it stops here. Restore, fix or remove the file (with {key}=skip '
                f"and scan_files='decode', the default for val/test, such files are left out, "
                f'named, before evaluation starts).'
            ) from err
        if not went_bad and self.bad_file_policy == 'error':
            raise RuntimeBadDataError(
                f'{safe_text(path)} cannot be decoded ({problem}): data corrupt inside the file, '
                f'which the header scan passed. Fix or remove it, or set --cfg-options {key}=skip '
                f'to skip such files during training (train_dataloader.dataset.scan_files='
                f"'decode' finds them all before training)."
            ) from err
        self.runtime_bad_files.add(path)
        first, count = self.runtime_record.add(path)
        if count > self.max_runtime_bad_files:
            raise RuntimeBadDataError(
                f'{count} files failed to load during training (more than '
                f'max_runtime_bad_files={self.max_runtime_bad_files}), latest {safe_text(path)} '
                f'({problem}). Is the data folder being changed or the disk failing?'
            ) from err
        if first:
            cause = 'it can no longer be read' if went_bad else f"{key}='skip'"
            MMLogger.get_current_instance().warning(
                f'skipping {safe_text(path)} ({cause}): {problem}; another sample is used in its '
                f'place ({count} such file(s) so far, over all dataloader workers)'
            )
