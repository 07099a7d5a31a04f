"""Listing image files: the class folders of a dataset, and the inputs of inference with the
loop that classifies them in batches and names what was skipped.

Hidden files and folders are never data; only regular, non-empty files with UTF-8 names are
read, anything else is named with a reason. Standard library only: the ONNX runner loads this
file by path, so ``inference_model`` and the runner list, skip and batch the same files.
"""

import errno
import glob
import os
import os.path as osp
import stat
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

#: Image file extensions read by default (compared case-insensitively).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.pgm', '.bmp', '.tif', '.tiff', '.webp')


def visible_entries(directory: str) -> List[os.DirEntry]:
    """Entries of ``directory`` whose names do not start with a dot, sorted by name."""
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


def list_class_images(
    directory: str,
    extensions: Tuple[str, ...] = IMG_EXTENSIONS,
    unreadable: Optional[List[Tuple[str, str]]] = None,
) -> Dict[str, List[str]]:
    """The image files of each class folder of ``directory``: ``{class: paths}``, sorted
    (:func:`list_class_folders`, then :func:`list_image_files` with ``unreadable``)."""
    return {
        name: list_image_files(osp.join(directory, name), extensions, unreadable)
        for name in list_class_folders(directory)
    }


def stat_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a regular, non-empty file (None if it is), judged by ``os.stat``
    alone (a symbolic link is followed; nothing is opened).

    Args:
        path (str): The file.

    Returns:
        str | None: A short reason such as ``'not a regular file'``, or None.
    """
    try:
        info = os.stat(path)
    except OSError as err:
        if osp.islink(path):
            if err.errno == errno.ELOOP:
                return 'symbolic link loop'
            return f'broken symbolic link to missing {os.readlink(path)!r}'
        return f'cannot access: {err.strerror}'
    if not stat.S_ISREG(info.st_mode):
        return 'not a regular file'
    if info.st_size == 0:
        return 'empty file, 0 bytes'
    return None


def expand_inputs(inputs: Any, skipped: List[Tuple[str, str]]) -> List[Any]:
    """The images that inference reads for ``inputs``, as a flat list in order.

    Args:
        inputs: A file path, a folder (its images, recursively, sorted, hidden files and
            folders left out, as :func:`list_image_files`), a glob pattern
            (``'photos/*.jpg'``, ``'data/**/*.png'``; folders it matches are left out), an
            image array (kept as it is), or a list of these.
        skipped (list): Receives ``(path, reason)`` for each sub-folder that cannot be
            listed and each file that is not read (:func:`stat_problem`, or a name that is
            not valid UTF-8).

    Returns:
        list: File paths and arrays, in order.

    Raises:
        FileNotFoundError: A path that does not exist, or a pattern matching nothing.
    """
    expanded: List[Any] = []
    for item in inputs if isinstance(inputs, (list, tuple)) else [inputs]:
        if not isinstance(item, (str, os.PathLike)):
            expanded.append(item)
            continue
        item = os.fspath(item)
        if osp.isdir(item):
            candidates = list_image_files(item, IMG_EXTENSIONS, skipped)
        elif osp.lexists(item):
            candidates = [item]
        elif glob.has_magic(item):
            candidates = sorted(p for p in glob.glob(item, recursive=True) if not osp.isdir(p))
            if not candidates:
                raise FileNotFoundError(f'no image file matches the pattern {item}')
        else:
            raise FileNotFoundError(f'image input not found: {item}')
        for path in candidates:
            try:
                path.encode('utf-8')
            except UnicodeEncodeError:  # undecodable bytes, kept by Python as lone surrogates
                problem = 'file name is not valid UTF-8'
            else:
                problem = stat_problem(path)
            if problem is None:
                expanded.append(path)
            else:
                skipped.append((path, problem))
    return expanded


class InferenceResults(list):
    """The per-image results of an inference, plus the files it skipped.

    Attributes:
        skipped (list[tuple[str, str]]): ``(path, reason)`` of each input file or folder
            that could not be read or decoded, in input order; these have no result.
    """

    def __init__(self, results=(), skipped: Sequence[Tuple[str, str]] = ()) -> None:
        super().__init__(results)
        self.skipped: List[Tuple[str, str]] = list(skipped)


def classify_inputs(
    inputs: Any,
    open_model: Callable[[], tuple],
    safe_text: Callable[[Any], str],
    batch_size: int = 32,
    warn: Callable[[str], Any] = lambda message: None,
    track: Callable[[List[Any]], Iterable[Any]] = iter,
) -> Union[dict, InferenceResults]:
    """Classify the images of ``inputs`` batch by batch, each decoded as it is reached: the
    loop of ``inference_model`` and of the ONNX runner, which bring their own model.

    Args:
        inputs: What :func:`expand_inputs` takes.
        open_model (callable): Called once the inputs are listed (a bad input is named
            before any model is used): gives ``(prepare, score_batch, classes)``. ``prepare``
            turns one image (a path or an array) into a model input; its ``ValueError``
            skips a path and is raised for an array. ``score_batch`` turns a list of
            prepared inputs into their rows of class scores (numpy arrays); ``classes`` are
            the class names by label, or None.
        safe_text (callable): How names from outside are written into messages
            (``prediction_rows.safe_text``).
        batch_size (int): Images per ``score_batch`` call. Defaults to 32.
        warn (callable): Called with one line per skipped file or folder. Defaults to none.
        track (callable): Wraps the list of images, e.g. in a progress bar. Defaults to
            ``iter``.

    Returns:
        dict | InferenceResults: The result of a single file or array, else those of the
        classified images in input order, with ``skipped`` (fields: ``inference_model``).

    Raises:
        FileNotFoundError: An input path does not exist or a pattern matches nothing.
        ValueError: No images in the inputs, or none could be classified (the message names
            the skipped files); an array that ``prepare`` refuses.
    """
    many = isinstance(inputs, (list, tuple))
    single = not many and (not isinstance(inputs, (str, os.PathLike)) or osp.isfile(inputs))
    results = InferenceResults()
    images = expand_inputs(inputs, results.skipped)
    for path, reason in results.skipped:
        warn(f'skipped {safe_text(path)}: {safe_text(reason)}')
    if not images:
        shown = ''.join(f'; {safe_text(p)}: {safe_text(r)}' for p, r in results.skipped[:5])
        raise ValueError(f'no images found in {safe_text(inputs)}{shown}')
    prepare, score_batch, classes = open_model()
    pending: List[Tuple[Any, Any]] = []
    for position, image in enumerate(track(images), start=1):
        try:
            pending.append((image, prepare(image)))
        except ValueError as err:
            if not isinstance(image, str):
                raise
            # A decoder's own error gives the reason without the file's name, listed beside it.
            reason = getattr(err.__cause__, 'reason', None) or str(err).strip().split('\n')[0]
            results.skipped.append((image, reason))
            warn(f'skipped {safe_text(image)}: {safe_text(reason)}')
        if pending and (len(pending) == batch_size or position == len(images)):
            rows = score_batch([data for _, data in pending])
            for (source, _), scores in zip(pending, rows):
                label = int(scores.argmax())
                result = {'pred_scores': scores, 'pred_label': label}
                result['pred_score'] = float(scores[label])
                if classes is not None:
                    result['pred_class'] = classes[label]
                if isinstance(source, str):
                    result['img_path'] = source
                results.append(result)
            pending = []
    if not results:
        shown = '; '.join(f'{safe_text(p)} ({safe_text(r)})' for p, r in results.skipped[:5])
        raise ValueError(f'no image could be classified: {shown}')
    return results[0] if single else results
