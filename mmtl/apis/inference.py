"""Python inference API: build a model from a config, classify images, draw the result."""

import glob
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmpretrain.apis import ImageClassificationInferencer

from mmtl.datasets import IMG_EXTENSIONS
from mmtl.datasets.folder_dataset import list_image_files
from mmtl.registry import MODELS
from mmtl.utils.config import innermost_dataset, load_config

ImageInput = Union[str, np.ndarray]


def init_model(
    config: Union[str, Config],
    checkpoint: Optional[str] = None,
    device: Union[str, torch.device] = 'cpu',
    cfg_options: Optional[dict] = None,
) -> torch.nn.Module:
    """Build a classifier from a config and load its weights.

    Class names come from the checkpoint's ``meta.dataset_meta`` (written by training), or
    from ``classes`` in the config's test dataset, so that inference needs no dataset.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint path or URL. Defaults to None (random init).
        device (str | torch.device): Where to put the model. Defaults to ``'cpu'``; a model
            trained on GPU loads on a CPU-only machine.
        cfg_options (dict, optional): Overrides merged into a config file. Defaults to None.

    Returns:
        torch.nn.Module: The model in eval mode, with ``_config`` and ``_dataset_meta`` set.
    """
    cfg = load_config(config, cfg_options) if isinstance(config, str) else config
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # Pretrained-backbone init is pointless before loading a full checkpoint (and needs network).
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        model = MODELS.build(model_cfg)

    dataset_meta: dict = {}
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
        dataset_meta = dict(ckpt.get('meta', {}).get('dataset_meta') or {})
    if not dataset_meta.get('classes'):
        classes = _config_classes(cfg)
        if classes is not None:
            dataset_meta['classes'] = classes
    model._config = cfg
    model._dataset_meta = dataset_meta
    return model.to(device).eval()


def _config_classes(cfg: Config) -> Optional[tuple]:
    loader = cfg.get('test_dataloader') or {}
    classes = innermost_dataset(loader.get('dataset', {})).get('classes')
    return tuple(classes) if isinstance(classes, (list, tuple)) else None


def expand_image_inputs(inputs: Union[ImageInput, Sequence[ImageInput]]) -> List[ImageInput]:
    """Turn a path, folder, glob, array or a list of them into a flat list of images.

    Args:
        inputs: A file path, a folder (all images inside, recursively), a glob pattern, a
            ``HxWxC`` BGR uint8 array, or a list of these.

    Returns:
        list: File paths and arrays, in order.
    """
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    expanded: List[ImageInput] = []
    for item in items:
        if isinstance(item, np.ndarray):
            expanded.append(item)
        elif osp.isdir(item):
            expanded.extend(list_image_files(item, IMG_EXTENSIONS))
        elif osp.isfile(item):
            expanded.append(item)
        elif glob.has_magic(item):
            expanded.extend(sorted(p for p in glob.glob(item, recursive=True) if osp.isfile(p)))
        else:
            raise FileNotFoundError(f'image input not found: {item}')
    return expanded


def _inferencer(model: torch.nn.Module) -> ImageClassificationInferencer:
    """The (cached) mmpretrain inferencer wrapping ``model``."""
    inferencer = getattr(model, '_mmtl_inferencer', None)
    if inferencer is None:
        classes = model._dataset_meta.get('classes')
        inferencer = ImageClassificationInferencer(model, pretrained=False, classes=classes)
        model._mmtl_inferencer = inferencer
    return inferencer


def inference_model(
    model: torch.nn.Module, inputs: Union[ImageInput, Sequence[ImageInput]], batch_size: int = 32
) -> Union[dict, List[dict]]:
    """Classify images with a model from :func:`init_model`.

    Args:
        model (torch.nn.Module): The model.
        inputs: A path, a folder, a glob, a BGR array, or a list of them.
        batch_size (int): Images per forward pass. Defaults to 32.

    Returns:
        dict | list[dict]: For a single path or array, one dict; otherwise one per image.
        Each has ``pred_label`` (int), ``pred_score`` (float), ``pred_class`` (str, when
        class names are known), ``pred_scores`` (np.ndarray of all class scores) and
        ``img_path`` (for files).
    """
    single = isinstance(inputs, np.ndarray) or (isinstance(inputs, str) and osp.isfile(inputs))
    images = expand_image_inputs(inputs)
    if not images:
        raise ValueError(f'no images found in {inputs!r}')
    with torch.no_grad():
        results = _inferencer(model)(images, batch_size=batch_size)
    for image, result in zip(images, results):
        if isinstance(image, str):
            result['img_path'] = image
    return results[0] if single else results
