"""Python inference API: build a model from a config, classify images, draw the result.

Files are decoded by the config's test-pipeline loader, so the scores are those
``tools/test.py`` gives.
"""

import os
import os.path as osp
import sys
from functools import partial
from typing import List, Mapping, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.utils import track_iter_progress
from PIL import Image, ImageOps

from mmtl.config.access import find_test_dataset, find_test_pipeline, is_image_loader, model_config
from mmtl.config.model_card import CARD_KEY, check_class_names, read_card
from mmtl.config.resolve import resolve_config
from mmtl.datasets.listing import classify_inputs
from mmtl.datasets.transforms import LoadImage
from mmtl.datasets.transforms.image_io import array_to_bgr, decode_image_file
from mmtl.engine.loading import load_into, read_weights
from mmtl.registry import MODELS, TRANSFORMS
from mmtl.utils.errors import ConfigError, first_line
from mmtl.utils.prediction_rows import safe_text
from mmtl.visualization.prediction import draw_prediction

from .runner_setup import checked_config

ImageInput = Union[str, np.ndarray]


def is_config_path(path: Union[str, Config, None]) -> bool:
    """Whether ``path`` names a config (by its extension) rather than a checkpoint."""
    return isinstance(path, Config) or (
        isinstance(path, str) and path.lower().endswith(('.py', '.json', '.yaml', '.yml'))
    )


def init_model(
    config: Union[str, Config, None] = None,
    checkpoint: Optional[str] = None,
    device: Union[str, torch.device] = 'cpu',
    cfg_options: Optional[dict] = None,
) -> torch.nn.Module:
    """Build a classifier from a config and load its weights.

    ``init_model(CKPT)`` builds the model from the checkpoint's model card
    (:mod:`mmtl.config.model_card`); a checkpoint without one needs its config. Class names
    come from the card, the checkpoint's ``meta.dataset_meta`` or the config's test dataset.

    Args:
        config (str | Config, optional): Config file or object; or a checkpoint when it is
            the only argument (its extension is not a config's).
        checkpoint (str, optional): Checkpoint path, URL or hub reference. Defaults to None
            (random init).
        device (str | torch.device): Where to put the model. Defaults to ``'cpu'``; a model
            trained on GPU loads on a CPU-only machine.
        cfg_options (dict, optional): Overrides merged into the config, checked as
            ``--cfg-options``. Defaults to None.

    Returns:
        torch.nn.Module: The model in eval mode, with ``_config`` and ``_dataset_meta`` set.

    Raises:
        ConfigError: No config and no checkpoint; a checkpoint alone without a valid model
            card; class names that are malformed or do not match the head; or a
            checkpoint that does not fit the model (one line: counts and first names).
    """
    if checkpoint is None and config is not None and not is_config_path(config):
        config, checkpoint = None, config
    loaded = read_weights(checkpoint) if checkpoint is not None else None
    card = None
    if config is None:
        if loaded is None:
            raise ConfigError('init_model needs a config file, a checkpoint, or both')
        card = read_card(loaded, checkpoint)
        config = card.to_config()
    # A Config object is resolved too (idempotent): 'auto' sizes follow input_size.
    cfg = resolve_config(checked_config(config, cfg_options))
    model_cfg = model_config(cfg)
    # Weights come from the checkpoint, or none are wanted: no pretrained-backbone download.
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        model = MODELS.build(model_cfg)

    if loaded is not None:
        load_into(model, loaded, 'exact', source=checkpoint, purpose='inference')
    classes = (card.classes if card else None) or find_test_dataset(cfg).get('classes')
    classes = tuple(classes) if isinstance(classes, (list, tuple)) else None
    if loaded is not None and card is None:
        classes = checkpoint_classes(loaded, checkpoint) or classes
    model._config = cfg
    model._dataset_meta = {'classes': classes} if classes is not None else {}
    _checked_classes(model, checkpoint or 'the config')
    return model.to(device).eval()


def _checked_classes(model: torch.nn.Module, source: str) -> Optional[Sequence[str]]:
    """``model._dataset_meta``'s class names (None if it has none); a ConfigError unless
    they name each output of the head (``source``: where they come from, for the message)."""
    classes = model._dataset_meta.get('classes')
    num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    if classes is not None and isinstance(num_classes, int) and len(classes) != num_classes:
        raise ConfigError(
            f'{source} names {len(classes)} classes for a head of {num_classes}: give the '
            'class names of this model (classes in the config, or the checkpoint and config '
            'of one training run)'
        )
    return classes


def checkpoint_classes(checkpoint: dict, source: Optional[str]) -> Optional[tuple]:
    """The class names a checkpoint carries (its model card's, else ``meta.dataset_meta``'s),
    checked.

    Args:
        checkpoint (dict): A checkpoint read by mmtl's safe loader.
        source (str, optional): Its path, for messages.

    Returns:
        tuple[str] | None: The names, or None when it carries none.

    Raises:
        ModelCardError: Names that are not a list of distinct printable strings.
    """
    meta = checkpoint.get('meta')
    meta = meta if isinstance(meta, Mapping) else {}
    for key in (CARD_KEY, 'dataset_meta'):
        entry = meta.get(key)
        classes = entry.get('classes') if isinstance(entry, Mapping) else None
        if classes is not None:
            return check_class_names(classes, source, f'meta.{key}.classes')
    return None


class _Classifier:
    """A model with its test pipeline; files are decoded by the pipeline's ``LoadImage*``
    step (else mmtl's ``LoadImage``), as testing decodes them.

    Args:
        model (torch.nn.Module): A model from :func:`init_model` (``_config`` and
            ``_dataset_meta`` set); it is put in eval mode.

    Raises:
        ConfigError: The config has no test pipeline.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        cfg = model._config
        pipeline = find_test_pipeline(cfg)
        loaders = [step for step in pipeline if is_image_loader(step)]
        steps = [step for step in pipeline if not is_image_loader(step)]
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
            self.loader = TRANSFORMS.build(loaders[0]) if loaders else LoadImage()
            self.pipeline = Compose([TRANSFORMS.build(step) for step in steps])
        self.model = model.eval()

    def prepare(self, image: ImageInput) -> dict:
        """The test pipeline's output for one image: a file through the loader, or an array.

        Raises:
            ValueError: The file cannot be read or decoded, or the array is no image.
        """
        if isinstance(image, np.ndarray):
            img = array_to_bgr(image)
            return self.pipeline(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
        try:
            results = self.loader(dict(img_path=image))
        except Exception as err:  # ImageDecodeError, or an upstream loader's own error
            raise ValueError(getattr(err, 'reason', first_line(err))) from err
        if results is None:  # a loader with ignore_errors=True
            raise ValueError('the loader could not read it')
        return self.pipeline(results)

    @torch.no_grad()
    def score(self, batch: List[dict]) -> List[np.ndarray]:
        """The class scores of each prepared image of ``batch``."""
        samples = self.model.test_step(default_collate(batch))
        return [sample.pred_score.detach().cpu().numpy() for sample in samples]


def _as_pipeline_input(item, channel_order: str) -> ImageInput:
    """A path as it is; a PIL image or an array as the BGR array the pipeline takes.

    Args:
        item: A path (``str`` or ``os.PathLike``), a ``PIL.Image.Image`` or a numpy array.
        channel_order (str): ``'rgb'`` or ``'bgr'``: the order of a 3- or 4-channel array.

    Raises:
        TypeError: Any other type (a torch tensor: the pipeline makes its own tensors).
    """
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    if isinstance(item, Image.Image):
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

    Of several images (a folder, a glob, a list), a file that cannot be read or decoded, or
    a sub-folder that cannot be listed, is named in a warning and skipped; the result's
    ``skipped`` lists them.

    Args:
        model (torch.nn.Module): The model.
        inputs: An image path, a folder (recursive), a glob, a PIL image, a numpy array
            (``uint8``, ``uint16`` or float in [0, 1]; ``H x W``, ``H x W x 3`` or
            ``H x W x 4``; RGB unless ``channel_order='bgr'``), or a list of them.
        batch_size (int): Images per forward pass. Defaults to 32.
        progress (bool): Show a progress bar on stderr. Defaults to False.
        channel_order (str): The channel order of arrays: ``'rgb'`` (PIL, matplotlib,
            scikit-image; the default) or ``'bgr'`` (``cv2.imread``).

    Returns:
        dict | InferenceResults: For a single file or array, one dict; otherwise a list
        (:class:`mmtl.datasets.listing.InferenceResults`, with ``skipped``) of one dict
        per classified image, in input order (folders and globs sorted). Each has
        ``pred_label`` (int), ``pred_score`` (float, the top score), ``pred_class`` (str,
        when class names are known), ``pred_scores`` (np.ndarray, the scores of all
        classes) and ``img_path`` (for files).

    Raises:
        FileNotFoundError: An input path does not exist or a pattern matches nothing.
        ValueError: No images in the inputs; a single file that cannot be decoded, or none
            of several (the message names them); an array that is not a supported image;
            an unknown ``channel_order``.
        ConfigError: Class names (``model._dataset_meta``) that do not name each output of
            the head.
        TypeError: An input of another type (a torch tensor, bytes).
    """
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(f"inference_model: channel_order={channel_order!r}: use 'rgb' or 'bgr'")
    many = isinstance(inputs, (list, tuple))
    inputs = [_as_pipeline_input(item, channel_order) for item in (inputs if many else [inputs])]

    def open_model() -> tuple:
        if getattr(model, '_mmtl_inferencer', None) is None:
            model._mmtl_inferencer = _Classifier(model)
        # Read at each call, not cached with the pipeline: the model's class names may change.
        classes = _checked_classes(model, "the model's class names (dataset_meta)")
        return model._mmtl_inferencer.prepare, model._mmtl_inferencer.score, classes

    return classify_inputs(
        inputs if many else inputs[0],
        open_model,
        safe_text,
        batch_size,
        warn=MMLogger.get_current_instance().warning,
        track=partial(track_iter_progress, file=sys.stderr) if progress else iter,
    )


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
    bgr = decode_image_file(img) if isinstance(img, str) else array_to_bgr(img)
    if title is None and isinstance(img, str):
        title = osp.basename(img)
    classes = model._dataset_meta.get('classes')
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
