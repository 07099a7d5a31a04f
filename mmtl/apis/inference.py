"""Python inference API: build a model from a config, classify images, draw the result.

Images are file paths or numpy arrays. A file is decoded by the config's own test-pipeline
loader (mmtl's ``LoadImage``: every colour mode, EXIF orientation, transparency onto white,
the pixel limit ``MMTL_MAX_IMAGE_PIXELS``), so inference gives exactly the scores
``tools/test.py`` gives for the same file. PIL images are accepted. Arrays are taken in
**RGB** channel order, what PIL, matplotlib and scikit-image give (``channel_order='bgr'``
for an OpenCV array): ``uint8`` 0..255, ``uint16`` (scaled like 16-bit files), or float in
[0, 1] (multiplied by 255); other floats are refused. See
:func:`mmtl.datasets.transforms.image_io.array_to_bgr`.
"""

import glob
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from mmpretrain.apis import ImageClassificationInferencer

from mmtl.datasets import IMG_EXTENSIONS
from mmtl.datasets.folder_dataset import list_image_files
from mmtl.datasets.transforms import LoadImage
from mmtl.datasets.transforms.image_io import array_to_bgr, decode_image_file
from mmtl.engine.checkpoint_fit import check_exact_fit
from mmtl.registry import MODELS, TRANSFORMS
from mmtl.utils.checkpoint import register_checkpoint_schemes
from mmtl.utils.checkpoint_config import embedded_config
from mmtl.utils.cli import ConfigError
from mmtl.utils.config import (
    check_cfg_options,
    innermost_dataset,
    leaf_datasets,
    load_config,
    resolve_config,
)
from mmtl.visualization import draw_prediction

ImageInput = Union[str, np.ndarray]


#: Extensions of config files; anything else given as ``init_model``'s first argument
#: alone is taken as a checkpoint.
CONFIG_EXTENSIONS = ('.py', '.json', '.yaml', '.yml')


def is_config_path(path: Union[str, Config, None]) -> bool:
    """Whether ``path`` names a config (by its extension) rather than a checkpoint."""
    return isinstance(path, Config) or (
        isinstance(path, str) and path.lower().endswith(CONFIG_EXTENSIONS)
    )


def init_model(
    config: Union[str, Config, None] = None,
    checkpoint: Optional[str] = None,
    device: Union[str, torch.device] = 'cpu',
    cfg_options: Optional[dict] = None,
) -> torch.nn.Module:
    """Build a classifier from a config and load its weights.

    ``init_model(CKPT)`` (or ``init_model(None, CKPT)``) takes the config from the
    checkpoint: mmengine stores the training config in ``meta['cfg']``, which mmtl reads
    as data, never as code (see :mod:`mmtl.utils.checkpoint_config`).

    Class names come from the checkpoint's ``meta.dataset_meta`` (written by training), or
    from ``classes`` in the config's test dataset, so that inference needs no dataset.

    Args:
        config (str | Config, optional): Config file or object; or a checkpoint when it is
            the only argument (its extension is not a config's).
        checkpoint (str, optional): Checkpoint path or URL. Defaults to None (random init).
        device (str | torch.device): Where to put the model. Defaults to ``'cpu'``; a model
            trained on GPU loads on a CPU-only machine.
        cfg_options (dict, optional): Overrides merged into the config. Defaults to None.

    Returns:
        torch.nn.Module: The model in eval mode, with ``_config`` and ``_dataset_meta`` set.

    Raises:
        ConfigError: No config was given and the checkpoint carries none; or the
            checkpoint does not fit the model (one line: counts and first names).
    """
    if checkpoint is None and config is not None and not is_config_path(config):
        config, checkpoint = None, config
    loaded = _read_checkpoint(checkpoint) if checkpoint is not None else None
    if config is None:
        cfg = _checkpoint_config(loaded, checkpoint, cfg_options)
    elif isinstance(config, str):
        cfg = load_config(config, cfg_options)
    else:  # a Config object is resolved too (idempotent): 'auto' sizes follow input_size
        cfg = resolve_config(config)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # Pretrained-backbone init is pointless before loading a full checkpoint (and needs network).
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        model = MODELS.build(model_cfg)

    dataset_meta: dict = {}
    if loaded is not None:
        dataset_meta = _load_weights(model, loaded, checkpoint)
    if not dataset_meta.get('classes'):
        classes = _config_classes(cfg)
        if classes is not None:
            dataset_meta['classes'] = classes
    model._config = cfg
    model._dataset_meta = dataset_meta
    return model.to(device).eval()


def _read_checkpoint(checkpoint: str) -> dict:
    """The checkpoint, read through mmtl's safe loader (every scheme)."""
    register_checkpoint_schemes()  # covers schemes registered after ``import mmtl``
    loaded = _load_checkpoint(checkpoint, map_location='cpu', logger='silent')
    if not isinstance(loaded, dict):
        raise ConfigError(f'checkpoint {checkpoint} holds no state_dict')
    return loaded


def _checkpoint_config(loaded: Optional[dict], checkpoint: Optional[str], cfg_options) -> Config:
    """The config inside a checkpoint (read as data), with ``cfg_options`` merged."""
    if loaded is None:
        raise ConfigError('init_model needs a config file, a checkpoint, or both')
    cfg = embedded_config(loaded, checkpoint)
    if cfg is None:
        raise ConfigError(
            f'checkpoint {checkpoint} carries no config in its meta (not written by an '
            f'mmengine training run); name the config too: CONFIG {checkpoint}'
        )
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def _load_weights(model: torch.nn.Module, loaded: dict, checkpoint: str) -> dict:
    """Load every weight of a checkpoint into ``model``, after checking that they fit.

    Returns:
        dict: The checkpoint's ``meta.dataset_meta`` (class names), or empty.

    Raises:
        CheckpointFitError: The checkpoint's weights do not fit the model (missing,
            unexpected or differently shaped tensors: a wrong config or ``num_classes``),
            or hold NaN/Inf; one line.
    """
    check_exact_fit(loaded, model.state_dict(), checkpoint, 'inference')
    _load_checkpoint_to_model(model, loaded, strict=True, logger='silent')
    return dict((loaded.get('meta') or {}).get('dataset_meta') or {})


def _config_classes(cfg: Config) -> Optional[tuple]:
    loader = cfg.get('test_dataloader') or {}
    classes = innermost_dataset(loader.get('dataset', {})).get('classes')
    return tuple(classes) if isinstance(classes, (list, tuple)) else None


class InferenceResults(list):
    """The per-image results of :func:`inference_model`, plus the files it skipped.

    Attributes:
        skipped (list[tuple[str, str]]): ``(path, reason)`` of each input file or folder
            that could not be read or decoded, in input order; these have no result.
    """

    def __init__(self, results=(), skipped: Sequence[Tuple[str, str]] = ()) -> None:
        super().__init__(results)
        self.skipped: List[Tuple[str, str]] = list(skipped)


def expand_image_inputs(
    inputs: Union[ImageInput, Sequence[ImageInput]],
    unreadable: Optional[List[Tuple[str, str]]] = None,
) -> List[ImageInput]:
    """Turn a path, folder, glob, array or a list of them into a flat list of images.

    Args:
        inputs: A file path, a folder (all images inside, recursively, sorted), a glob
            pattern (``'photos/*.jpg'``, ``'data/**/*.png'``), a BGR array, or a list of these.
        unreadable (list, optional): Receives ``(folder, reason)`` for each sub-folder that
            cannot be listed. Defaults to None: such a folder raises its ``OSError``.

    Returns:
        list: File paths and arrays, in order.

    Raises:
        FileNotFoundError: A path that is no file or folder, or a glob matching nothing.
    """
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    expanded: List[ImageInput] = []
    for item in items:
        if isinstance(item, np.ndarray):
            expanded.append(item)
        elif osp.isdir(item):
            expanded.extend(list_image_files(item, IMG_EXTENSIONS, unreadable))
        elif osp.isfile(item):
            expanded.append(item)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if osp.isfile(p))
            if not matches:
                raise FileNotFoundError(f'no image file matches the pattern {item}')
            expanded.extend(matches)
        else:
            raise FileNotFoundError(f'image input not found: {item}')
    return expanded


def as_bgr_image(image: np.ndarray) -> np.ndarray:
    """The ``H x W x 3`` BGR uint8 image inference classifies, from an array.

    Args:
        image (np.ndarray): BGR order: ``H x W`` / ``H x W x 1`` (grey), ``H x W x 3``, or
            ``H x W x 4`` (BGRA, composited onto white); ``uint8``, ``uint16`` or float in
            [0, 1] (see :func:`mmtl.datasets.transforms.image_io.array_to_bgr`).

    Returns:
        np.ndarray: ``H x W x 3`` uint8.

    Raises:
        ValueError: Any other shape, dtype or value range.
    """
    return array_to_bgr(image)


class _Inferencer(ImageClassificationInferencer):
    """mmpretrain's inferencer, decoding files with the test pipeline's own loader.

    mmpretrain reads files with OpenCV (no transparency, 16-bit or CMYK handling, no pixel
    limit) and then runs the test pipeline without its loader. Here the config's loader (any
    step whose type name starts with ``LoadImage``; mmtl's ``LoadImage`` if there is none)
    reads each file exactly as testing does; an array skips the loader.
    """

    def _init_pipeline(self, cfg: Config) -> Callable:
        dataset = leaf_datasets((cfg.get('test_dataloader') or {}).get('dataset', {}))[0]
        if 'pipeline' not in dataset:
            raise ConfigError(
                'inference uses the test pipeline, and the config has no '
                'test_dataloader.dataset.pipeline'
            )
        loaders = [step for step in dataset.pipeline if _is_image_loader(step['type'])]
        steps = [step for step in dataset.pipeline if not _is_image_loader(step['type'])]
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
            self.loader = TRANSFORMS.build(loaders[0]) if loaders else LoadImage()
            return Compose([TRANSFORMS.build(step) for step in steps])

    def load(self, image: ImageInput) -> dict:
        """The pipeline input for one image: a file through the loader, or an array.

        Raises:
            ValueError: The file cannot be read or decoded (the message names it), or the
                array is not a supported image.
        """
        if isinstance(image, np.ndarray):
            img = array_to_bgr(image)
            return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        try:
            results = self.loader(dict(img_path=image))
        except Exception as err:  # ImageDecodeError, or an upstream loader's own error
            raise ValueError(f'cannot classify {image}: {_first_line(err)}') from err
        if results is None:  # a loader with ignore_errors=True
            raise ValueError(f'cannot classify {image}: the loader could not read it')
        return results

    def preprocess_images(
        self, images: Sequence[ImageInput], batch_size: int, skipped: List[Tuple[str, str]]
    ) -> Iterator[Tuple[list, dict]]:
        """Yield ``(images, collated batch)``; files that fail go to ``skipped``, logged."""
        chunk, inputs = [], []
        for image in images:
            try:
                data = self.pipeline(self.load(image))
            except ValueError as err:
                if not isinstance(image, str):
                    raise
                reason = str(err).split(': ', 1)[-1]
                skipped.append((image, reason))
                MMLogger.get_current_instance().warning(f'skipped {image}: {reason}')
                continue
            chunk.append(data)
            inputs.append(image)
            if len(chunk) == batch_size:
                yield inputs, default_collate(chunk)
                chunk, inputs = [], []
        if chunk:
            yield inputs, default_collate(chunk)


def _first_line(err: Exception) -> str:
    text = str(err).strip().split('\n')[0] or type(err).__name__
    return text


def _is_image_loader(transform_type: Union[str, type]) -> bool:
    """Whether a pipeline step type (a name or a class) loads the image from a file."""
    name = transform_type if isinstance(transform_type, str) else transform_type.__name__
    return name.split('.')[-1].startswith('LoadImage')


def _inferencer(model: torch.nn.Module) -> ImageClassificationInferencer:
    """The (cached) inferencer wrapping ``model``."""
    inferencer = getattr(model, '_mmtl_inferencer', None)
    if inferencer is None:
        classes = model._dataset_meta.get('classes')
        inferencer = _Inferencer(model, pretrained=False, classes=classes)
        model._mmtl_inferencer = inferencer
    return inferencer


@contextmanager
def _progress_bar(total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (tqdm when installed, else mmengine's), as ``update(n)``."""
    if not enabled:
        yield lambda count: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(total, file=sys.stderr)
        yield lambda count: [bar.update() for _ in range(count)]
        sys.stderr.write('\n')
        return
    with tqdm(total=total, unit='img', desc='inference', file=sys.stderr) as bar:
        yield bar.update


#: Channel orders :func:`inference_model` takes arrays in.
CHANNEL_ORDERS = ('rgb', 'bgr')


def _as_pipeline_input(item, channel_order: str) -> ImageInput:
    """A path as it is; a PIL image or an array as the BGR array the pipeline takes.

    Args:
        item: A path (``str`` or ``os.PathLike``), a ``PIL.Image.Image`` or a numpy array.
        channel_order (str): ``'rgb'`` or ``'bgr'``: the order of a 3- or 4-channel array.

    Raises:
        TypeError: Any other type (a torch tensor: the pipeline makes its own tensors).
    """
    if isinstance(item, str):
        return item
    if isinstance(item, os.PathLike):
        return os.fspath(item)
    pil_image = sys.modules.get('PIL.Image')
    if pil_image is not None and isinstance(item, pil_image.Image):
        from PIL import ImageOps

        item = ImageOps.exif_transpose(item)  # as files are decoded
        has_alpha = 'A' in item.getbands() or 'transparency' in item.info
        item, channel_order = np.asarray(item.convert('RGBA' if has_alpha else 'RGB')), 'rgb'
    if not isinstance(item, np.ndarray):
        raise TypeError(
            f'inference_model: cannot classify a {type(item).__module__}.{type(item).__name__}; '
            f'give an image path, folder or glob, a PIL image, or a numpy array (RGB; '
            f"channel_order='bgr' for OpenCV's)"
        )
    if channel_order == 'rgb' and item.ndim == 3 and item.shape[2] in (3, 4):
        item = item[..., [2, 1, 0, 3][: item.shape[2]]]  # RGB(A) -> BGR(A)
    return item


def inference_model(
    model: torch.nn.Module,
    inputs: Union[ImageInput, Sequence[ImageInput]],
    batch_size: int = 32,
    progress: bool = False,
    channel_order: str = 'rgb',
) -> Union[dict, List[dict]]:
    """Classify images with a model from :func:`init_model`.

    Files are decoded by the test pipeline's loader, exactly as ``tools/test.py`` decodes
    them. When several images are given (a folder, a glob, a list), a file that cannot be
    read or decoded (empty, corrupt, not an image, over the pixel limit) or a sub-folder
    that cannot be listed is named in a warning and skipped, and the rest are classified;
    the result's ``skipped`` lists them.

    Args:
        model (torch.nn.Module): The model.
        inputs: An image path, a folder (recursive), a glob, a PIL image, a numpy array
            (``uint8``, ``uint16`` or float in [0, 1]; ``H x W``, ``H x W x 3`` or
            ``H x W x 4``; RGB unless ``channel_order='bgr'``), or a list of them. Images go
            through the config's test pipeline.
        batch_size (int): Images per forward pass. Defaults to 32.
        progress (bool): Show a progress bar on stderr. Defaults to False.
        channel_order (str): The channel order of arrays: ``'rgb'`` (PIL, matplotlib,
            scikit-image; the default) or ``'bgr'`` (``cv2.imread``).

    Returns:
        dict | InferenceResults: For a single file or array, one dict; otherwise a list
        (:class:`InferenceResults`, with ``skipped``) of one dict per classified image, in
        input order (folders and globs sorted). Each has ``pred_label`` (int),
        ``pred_score`` (float, the top score), ``pred_class`` (str, when class names are
        known), ``pred_scores`` (np.ndarray, the scores of all classes) and ``img_path``
        (for files).

    Raises:
        FileNotFoundError: An input path does not exist or a pattern matches nothing.
        ValueError: No images in the inputs; a single file that cannot be decoded, or none
            of several (the message names them); an array that is not a supported image;
            an unknown ``channel_order``.
        TypeError: An input of another type (a torch tensor, bytes).
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"inference_model: channel_order={channel_order!r}: use 'rgb' or 'bgr'")
    many = isinstance(inputs, (list, tuple))
    inputs = [_as_pipeline_input(item, channel_order) for item in (inputs if many else [inputs])]
    single = not many and (isinstance(inputs[0], np.ndarray) or osp.isfile(inputs[0]))
    inputs = inputs if many else inputs[0]
    skipped: List[Tuple[str, str]] = []
    images = expand_image_inputs(inputs, skipped)
    for folder, reason in skipped:
        MMLogger.get_current_instance().warning(f'skipped {folder}: {reason}')
    if not images:
        raise ValueError(f'no images found in {inputs!r}')
    inferencer = _inferencer(model)
    preds, classified = [], []
    with _progress_bar(len(images), enabled=progress) as update:
        for batch_images, batch in inferencer.preprocess_images(images, batch_size, skipped):
            batch_preds = inferencer.forward(batch)
            preds.extend(batch_preds)
            classified.extend(batch_images)
            update(len(batch_preds))
    if not preds:
        shown = '; '.join(f'{path} ({reason})' for path, reason in skipped[:5])
        raise ValueError(f'no image could be classified: {shown}')
    results = inferencer.postprocess(preds, visualization=None)
    for image, result in zip(classified, results):
        if isinstance(image, str):
            result['img_path'] = image
    if single:
        return results[0]
    return InferenceResults(results, skipped)


def show_result_pyplot(
    model: torch.nn.Module,
    img: ImageInput,
    result: dict,
    out_file: Optional[str] = None,
    show: bool = False,
    topk: int = 5,
    title: Optional[str] = None,
    channel_order: str = 'rgb',
) -> np.ndarray:
    """Draw an image with its top-k classes and scores; works headless.

    Args:
        model (torch.nn.Module): The model from :func:`init_model` (gives the class names).
        img (str | PIL.Image.Image | np.ndarray): The image: a path, a PIL image or an
            array, as for :func:`inference_model`.
        result (dict): The image's result from :func:`inference_model`.
        out_file (str, optional): Write the drawing to this PNG file.
        show (bool): Also open it in a matplotlib window (needs a display). Defaults to
            False.
        topk (int): How many classes to list. Defaults to 5.
        title (str, optional): Title; defaults to the file name for a path.
        channel_order (str): Of an array: ``'rgb'`` (default) or ``'bgr'``.

    Returns:
        np.ndarray: The drawing, ``400 x 800 x 3`` uint8 RGB.
    """
    img = _as_pipeline_input(img, channel_order)
    bgr = decode_image_file(img) if isinstance(img, str) else as_bgr_image(img)
    if title is None and isinstance(img, str):
        title = osp.basename(img)
    classes = model._dataset_meta.get('classes') if hasattr(model, '_dataset_meta') else None
    drawing = draw_prediction(
        mmcv.bgr2rgb(bgr), result['pred_scores'], classes, topk=topk, title=title, out_file=out_file
    )
    if show:
        import matplotlib.pyplot as plt

        plt.figure(figsize=(8, 4))
        plt.imshow(drawing)
        plt.axis('off')
        plt.show()
    return drawing
