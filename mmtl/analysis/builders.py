"""Building what the analysis tools look at (model, dataset, input size) from a config."""

from typing import Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmtl.utils.config import innermost_dataset

SPLIT_LOADERS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}

#: Pipeline transforms that fix the network input size, and the key holding that size.
SIZE_KEYS = {'CenterCrop': 'crop_size', 'RandomResizedCrop': 'scale', 'RandomCrop': 'crop_size'}
#: Resizes that fix the size only when given a square or one side that is then cropped.
RESIZE_KEYS = {'Resize': 'scale', 'ResizeEdge': 'scale'}


def _as_hw(size) -> Tuple[int, int]:
    if isinstance(size, (list, tuple)):
        return (int(size[-1]), int(size[0])) if len(size) == 2 else (int(size[0]),) * 2
    return int(size), int(size)


def input_size_from_pipeline(pipeline: Sequence[dict]) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of the images a pipeline produces, or None when it cannot tell.

    The last crop (``CenterCrop``, ``RandomResizedCrop``, ``RandomCrop``) decides; without
    one, the last ``Resize``/``ResizeEdge``. Sizes given as ``(w, h)`` are turned around.

    Args:
        pipeline (Sequence[dict]): Transform configs.

    Returns:
        tuple | None: ``(height, width)``.
    """
    for transforms in (SIZE_KEYS, RESIZE_KEYS):
        for transform in reversed(list(pipeline)):
            key = transforms.get(transform.get('type'))
            if key and transform.get(key) is not None:
                return _as_hw(transform[key])
    return None


def input_size_from_config(cfg: Config, default: int = 224) -> Tuple[int, int]:
    """``(H, W)`` of the test pipeline's images (the train pipeline's if it has none).

    Args:
        cfg (Config): The config.
        default (int): Side used when no pipeline tells. Defaults to 224.

    Returns:
        tuple: ``(height, width)``.
    """
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key) or {}
        pipeline = innermost_dataset(loader.get('dataset') or {}).get('pipeline') or []
        size = input_size_from_pipeline(pipeline)
        if size is not None:
            return size
    return default, default


def build_dataset(cfg: Config, split: str):
    """Build the dataset of ``split`` (``train``, ``val`` or ``test``) with its pipeline.

    Raises:
        KeyError: The split is unknown or the config has no dataloader for it.
    """
    if split not in SPLIT_LOADERS:
        raise KeyError(f'split must be one of {sorted(SPLIT_LOADERS)}, got {split!r}')
    loader = cfg.get(SPLIT_LOADERS[split])
    if not loader or not loader.get('dataset'):
        raise KeyError(f'the config has no {SPLIT_LOADERS[split]}.dataset')
    from mmtl.registry import DATASETS

    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        return DATASETS.build(loader.dataset)


def build_model(cfg: Config, checkpoint: Optional[str] = None, device: str = 'cpu'):
    """The classifier of ``cfg`` (with weights from ``checkpoint``), see ``init_model``."""
    from mmtl.apis import init_model

    return init_model(cfg, checkpoint, device=device)
