"""Checks of a final config before any work: option values, types, ranges, data, keys."""

import difflib
import math
import os
import os.path as osp
from typing import Any, Optional, Tuple

from mmengine.config import Config

from mmtl.utils.errors import ConfigError, short_list

from .access import MISSING, leaf_datasets, lookup
from .check_keys import (
    check_config_keys,
    check_top_level_names,
    runner_keys,
    suggestion,
)
from .resolve import loader_datasets

#: Keys that must hold a positive integer, and keys that must hold a non-negative one.
POSITIVE_INT_KEYS = (
    'model.head.num_classes',
    'train_cfg.max_epochs',
    'train_cfg.max_iters',
    'train_dataloader.batch_size',
    'val_dataloader.batch_size',
    'test_dataloader.batch_size',
    'train_cfg.val_interval',
    'auto_scale_lr.base_batch_size',
)
NON_NEGATIVE_INT_KEYS = (
    'train_dataloader.num_workers',
    'val_dataloader.num_workers',
    'test_dataloader.num_workers',
)
#: Keys that must hold a finite number >= 0 (lr 0 freezes: a legitimate test).
NON_NEGATIVE_NUMBER_KEYS = (
    'optim_wrapper.optimizer.lr',
    'optim_wrapper.optimizer.weight_decay',
    'optim_wrapper.optimizer.momentum',
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_cfg_options(cfg: Config, options: dict) -> None:
    """Refuse ``--cfg-options`` values that cannot be what the config expects.

    Text for a number or boolean, a plain value for a section, a new key close to an
    existing sibling (a typo), or a top-level key that neither the config nor the Runner
    has (a new one must be declared in the file, as ``_name``).

    Args:
        cfg (Config): The config before the options are merged.
        options (dict): Dotted key -> value, as parsed by mmengine's ``DictAction``.

    Raises:
        ConfigError: Naming the key, the value and what was expected.
    """
    for key, value in options.items():
        old = lookup(cfg, key)
        shown = f'--cfg-options {key}={value!r}'
        top = key.split('.')[0]
        if top not in cfg and top not in runner_keys():
            hint = suggestion(top, list(map(str, cfg.keys())) + sorted(runner_keys()))
            raise ConfigError(
                f'{shown}: the config has no top-level key {top!r}{hint}. A new top-level '
                f"key must be declared in the config file first, with a leading '_' that marks "
                f'it as your own (_{top.lstrip("_")} = ...)'
            )
        if old is MISSING:
            parent_key, _, leaf = key.rpartition('.')
            parent = lookup(cfg, parent_key) if parent_key else cfg
            if isinstance(parent, (dict, Config)):
                prefix = f'{parent_key}.' if parent_key else ''
                close = difflib.get_close_matches(leaf, map(str, parent.keys()), n=1, cutoff=0.8)
                if close:
                    hint = f" (did you mean '{prefix}{close[0]}'?)"
                    raise ConfigError(f'{shown}: the config has no key {key!r}{hint}')
            continue
        if isinstance(old, bool) and not isinstance(value, bool):
            raise ConfigError(f'{shown}: expected True or False (the config has {old})')
        if _is_number(old) and not _is_number(value) and value is not None:
            raise ConfigError(f'{shown}: expected a number (the config has {old!r})')
        if isinstance(old, dict) and not isinstance(value, dict) and value is not None:
            raise ConfigError(
                f'{shown}: {key} is a section of the config ({", ".join(map(str, old))}); '
                f'set one of its keys instead, e.g. {key}.{next(iter(old), "type")}=...'
            )


def check_value_ranges(cfg: Config) -> None:
    """Counts, batch sizes, intervals, the lr and weight decay must be in range (they would
    otherwise fail or diverge only after an epoch).

    Raises:
        ConfigError: Naming the key and the value.
    """
    rules = [
        (POSITIVE_INT_KEYS, 'a positive integer', lambda v: isinstance(v, int) and v > 0),
        (NON_NEGATIVE_INT_KEYS, 'an integer >= 0', lambda v: isinstance(v, int) and v >= 0),
        (NON_NEGATIVE_NUMBER_KEYS, 'a number >= 0, finite', lambda v: math.isfinite(v) and v >= 0),
    ]
    for keys, expected, ok in rules:
        for key in keys:
            value = lookup(cfg, key)
            if value is MISSING or value is None:
                continue
            if not _is_number(value) or not ok(value):
                raise ConfigError(f'{key}={value!r}: expected {expected}')


def check_auto_scale_lr(cfg: Config) -> None:
    """Scaling the lr (``auto_scale_lr.enable``, ``--auto-scale-lr``) needs the batch the lr was
    chosen for.

    Raises:
        ConfigError: ``enable`` is set and ``base_batch_size`` is not.
    """
    scale = cfg.get('auto_scale_lr') or {}
    if scale.get('enable') and 'base_batch_size' not in scale:
        raise ConfigError(
            'auto_scale_lr.enable (--auto-scale-lr): the config has no '
            'auto_scale_lr.base_batch_size (the total batch the lr was chosen for, e.g. 256 '
            'for 8 x 32)'
        )


def check_data_roots(cfg: Config) -> None:
    """Each dataset's ``data_root`` (and the top-level one) must be an existing folder.

    Raises:
        ConfigError: Naming the key and the path.
    """
    checks = []
    if cfg.get('data_root') is not None:
        checks.append(('data_root', cfg.data_root))
    for loader_key, _, dataset in loader_datasets(cfg):
        if dataset.get('data_root'):
            checks.append((f'{loader_key}.dataset.data_root', dataset.data_root))
    for key, path in checks:
        if '://' not in str(path) and not osp.isdir(osp.expanduser(str(path))):
            raise ConfigError(
                f'{key}={path!r}: folder does not exist (relative paths are taken from '
                f'{os.getcwd()}); point it at your dataset, e.g. --cfg-options '
                f'data_root=/path/to/dataset (with train/, val/, test/ inside)'
            )
    check_split_folders(cfg)


def check_split_folders(cfg: Config) -> None:
    """A top-level ``data_root`` that holds class folders but no split: say to split it.

    Raises:
        ConfigError: ``data_root`` has none of the dataloaders' ``data_prefix`` folders
            (``train/``, ``val/``, ``test/``) but other sub-folders (classes).
    """
    root = cfg.get('data_root')
    prefixes = [
        dataset.data_prefix
        for _, _, dataset in loader_datasets(cfg)
        if isinstance(dataset.get('data_prefix'), str) and dataset.data_prefix
    ]
    if not isinstance(root, str) or '://' in root or not prefixes:
        return
    root = osp.expanduser(root)
    if not osp.isdir(root) or any(osp.isdir(osp.join(root, p)) for p in prefixes):
        return
    prefix = prefixes[0]
    folders = sorted(
        name
        for name in os.listdir(root)
        if not name.startswith('.') and osp.isdir(osp.join(root, name))
    )
    if not folders:
        return
    raise ConfigError(
        f'data_root={cfg.data_root!r} has no {prefix}/ folder but {len(folders)} folders '
        f'({short_list(folders, 5)}): if these are the classes, split them first: mim run '
        f'mmtl split_dataset {cfg.data_root} {cfg.data_root.rstrip("/")}_split, then data_root='
        f'{cfg.data_root.rstrip("/")}_split'
    )


def count_training_classes(cfg: Config) -> Optional[Tuple[int, str]]:
    """Number of classes the train dataset will find, and where; None if unknown here.

    ``classes`` when it is a list, else the dataset class's ``count_classes(dataset_cfg)``.
    """
    from mmtl.registry import DATASETS

    loader = cfg.get('train_dataloader')
    if not loader or not isinstance(loader.get('dataset'), dict):
        return None
    leaves = leaf_datasets(loader.dataset)
    if len(leaves) != 1:
        return None
    dataset = leaves[0]
    classes = dataset.get('classes')
    if isinstance(classes, (list, tuple)):
        return len(classes), 'train_dataloader.dataset.classes'
    dataset_type = dataset.get('type')  # a known name: check_config_keys came first
    dataset_cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    counter = getattr(dataset_cls, 'count_classes', None)
    return counter(dataset) if callable(counter) else None


def check_num_classes(cfg: Config) -> None:
    """``model.head.num_classes`` must equal the number of classes in the training data.

    Raises:
        ConfigError: Naming both numbers, the key and where the classes were found.
    """
    num_classes = lookup(cfg, 'model.head.num_classes')
    found = count_training_classes(cfg)
    if num_classes is MISSING or found is None:
        return
    count, source = found
    if num_classes != count:
        raise ConfigError(
            f'model.head.num_classes={num_classes} but the training data has {count} classes '
            f'(in {source}); set --cfg-options model.head.num_classes={count}, or fix the data'
        )


def validate_config(cfg: Config) -> None:
    """All checks of a final config, before any model or dataset is built: names, types,
    keys, value ranges, data roots and the class count (each error one ConfigError line).

    Args:
        cfg (Config): The config after ``--cfg-options`` and mmtl's shortcuts.
    """
    check_top_level_names(cfg)
    check_config_keys(cfg)
    check_value_ranges(cfg)
    check_auto_scale_lr(cfg)
    check_data_roots(cfg)
    check_num_classes(cfg)
