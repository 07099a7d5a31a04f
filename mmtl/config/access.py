"""Reading parts of a config: the datasets behind wrappers, the test dataset and its pipeline,
the input size, the model; values as plain Python. Writing a config that inherits another one
and changes it."""

import os.path as osp
import pprint
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open

#: What :func:`lookup` returns for a key that is not there (None can be a value).
MISSING = object()


def lookup(cfg: Any, dotted_key: str) -> Any:
    """``cfg['a']['b']`` for ``'a.b'``, through dicts, configs and lists (``'a.0'``).

    Args:
        cfg: A config, or a dict of one.
        dotted_key (str): The key, as ``--cfg-options`` writes it.

    Returns:
        The value; :data:`MISSING` if any part is absent.
    """
    node = cfg
    for part in dotted_key.split('.'):
        if isinstance(node, (dict, Config)) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def innermost_dataset(dataset_cfg: ConfigDict) -> ConfigDict:
    """Follow wrapper datasets (``RepeatDataset``, ``ClassBalancedDataset`` ...) inwards."""
    while isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def leaf_datasets(dataset_cfg: ConfigDict) -> List[ConfigDict]:
    """The datasets that read data, through wrappers and ``ConcatDataset``'s ``datasets``."""
    dataset_cfg = innermost_dataset(dataset_cfg)
    children = dataset_cfg.get('datasets')
    if isinstance(children, (list, tuple)):
        return [leaf for child in children for leaf in leaf_datasets(child)]
    return [dataset_cfg]


def transform_name(transform: Mapping) -> str:
    """A pipeline step's class name, without a scope: ``'mmpretrain.Resize'`` (or the class
    itself) -> ``'Resize'``."""
    kind = transform.get('type', '')
    return (kind if isinstance(kind, str) else kind.__name__).rpartition('.')[2]


def is_image_loader(transform: Mapping) -> bool:
    """Whether a pipeline step loads the image from a file (``LoadImage*``)."""
    return transform_name(transform).startswith('LoadImage')


def find_test_dataset(cfg: Config) -> ConfigDict:
    """The dataset that testing reads: the first leaf dataset of ``test_dataloader``, else of
    ``val_dataloader``.

    Args:
        cfg (Config): The config.

    Returns:
        ConfigDict: The dataset config (empty when the config has neither loader).
    """
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset')
        if dataset:
            return leaf_datasets(dataset)[0]
    return ConfigDict()


def find_test_pipeline(cfg: Config) -> List[dict]:
    """The pipeline of :func:`find_test_dataset`: what inference, export and model cards replay.

    Args:
        cfg (Config): The config.

    Returns:
        list[dict]: The transform configs.

    Raises:
        ConfigError: The config has no test (or val) dataset with a pipeline.
    """
    pipeline = find_test_dataset(cfg).get('pipeline')
    if not pipeline:
        raise ConfigError('the config has no test_dataloader.dataset.pipeline')
    return list(pipeline)


def plain(value: Any) -> Any:
    """A config value as plain Python: dicts for ConfigDicts and other mappings, lists for
    tuples, at any depth (to compare values as written, or to print them).

    Args:
        value: A config value.

    Returns:
        The same value built of dicts, lists and scalars.
    """
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def model_config(cfg: Config) -> ConfigDict:
    """``cfg.model`` as mmengine's runner builds it: the top-level ``data_preprocessor`` is its
    default, so a model built outside the runner normalises its inputs the same way.

    Args:
        cfg (Config): The config.

    Returns:
        ConfigDict: A copy of ``cfg.model``; its own ``data_preprocessor`` wins.
    """
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return model_cfg


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
            key = transforms.get(transform_name(transform))
            if key and transform.get(key) is not None:
                return _as_hw(transform[key])
    return None


def input_size_from_config(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` of the test pipeline's images (the train pipeline's if it has none).

    Args:
        cfg (Config): The config.

    Returns:
        tuple: ``(height, width)``; ``(224, 224)`` when no pipeline tells.
    """
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key) or {}
        pipeline = innermost_dataset(loader.get('dataset') or {}).get('pipeline') or []
        size = input_size_from_pipeline(pipeline)
        if size is not None:
            return size
    return 224, 224


def merged(*changes: dict) -> dict:
    """Config changes (nested, or dotted keys as in ``--cfg-options``) merged in order, as
    mmengine merges ``--cfg-options``: later ones win, dict by dict."""
    cfg = Config()
    for change in changes:
        cfg.merge_from_dict(change)
    return cfg.to_dict()


def write_child_config(
    out_file: str,
    user_config: str,
    overrides: dict,
    cfg_options: Optional[dict] = None,
    comments: Tuple[str, ...] = (),
) -> str:
    """Write a config that inherits the user's config and applies changes (a strategy, a
    search's best values).

    Args:
        out_file (str): The ``.py`` file to write.
        user_config (str): The user's config file (inherited by absolute path).
        overrides (dict): The changes (nested, or dotted keys).
        cfg_options (dict, optional): The ``--cfg-options`` the tool ran with (dotted);
            written into the file so that it trains on the same data and weights.
        comments (tuple[str]): Lines for the header comment.

    Returns:
        str: ``out_file``.
    """
    changes = merged(cfg_options or {}, overrides)
    lines = [f'# {line}' for line in comments]
    lines.append(f'_base_ = [{osp.abspath(user_config)!r}]')
    lines.append('')
    for key, value in changes.items():
        lines.append(f'{key} = {pprint.pformat(plain(value), width=88, sort_dicts=False)}')
    text = '\n'.join(lines) + '\n'
    with atomic_open(out_file, 'w') as f:
        f.write(text)
    return out_file
