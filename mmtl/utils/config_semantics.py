"""What an mmtl config means beyond plain mmengine: applied when the Runner is built.

A config file says ``data_root`` once, ``num_workers='auto'``, ``input_size = 160``, and may
switch a default hook off with None. :func:`resolve_config` turns that into the plain
mmengine config the Runner builds from; :meth:`mmtl.engine.MMTLRunner.from_cfg` calls it on
a copy (``runner_type='MMTLRunner'`` in the base runtime), so mmtl's tools, ``mim``, and the
standard ``Config.fromfile`` + ``RUNNERS.build`` script all see the same meaning, while the
config dumped into the work dir stays as written (portable: another machine's
``--cfg-options data_root=...`` still applies to it).

Every step is idempotent: resolving a resolved config changes nothing.
"""

import copy
import math
from typing import Any, Dict, Iterator, List, Tuple

from mmengine.config import Config

from .config_access import leaf_datasets
from .errors import ConfigError
from .loader_defaults import DATALOADER_KEYS, resolve_dataloader_defaults


def apply_data_root(cfg: Config) -> None:
    """Copy the top-level ``data_root`` into each dataloader's dataset that has none.

    Base dataset configs leave ``data_root`` out of their datasets, so a config (or
    ``--cfg-options data_root=...``) points all splits at a dataset with one key. A
    dataset that sets its own ``data_root`` keeps it.

    Args:
        cfg (Config): The config, changed in place.
    """
    data_root = cfg.get('data_root')
    if data_root is None:
        return
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for dataset in leaf_datasets(loader.dataset):
            dataset.setdefault('data_root', data_root)


def drop_schedulers_past_the_end(cfg: Config) -> None:
    """Remove epoch-based lr/momentum schedulers that would start after training ends.

    A 30-epoch schedule cut to ``train_cfg.max_epochs=1`` for a smoke run would otherwise
    fail with "end should be larger than begin" in the cosine phase that starts at epoch 1.

    Args:
        cfg (Config): The config, changed in place.
    """
    train_cfg = cfg.get('train_cfg') or {}
    schedulers = cfg.get('param_scheduler')
    max_epochs = train_cfg.get('max_epochs')
    if not train_cfg.get('by_epoch', True) or max_epochs is None:
        return
    if not isinstance(schedulers, list):
        return
    kept = [s for s in schedulers if not s.get('by_epoch', True) or s.get('begin', 0) < max_epochs]
    cfg.param_scheduler = kept


#: The default hooks mmengine itself accepts as None (it then leaves them out).
_MMENGINE_DEFAULT_HOOKS = frozenset(
    ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')
)


def drop_disabled_default_hooks(cfg: Config) -> None:
    """Remove ``default_hooks`` entries set to None, so any default hook can be switched off.

    mmengine accepts ``None`` only for its own six default hooks and asserts on any other
    name (such as mmtl's ``early_stopping``).

    Args:
        cfg (Config): The config, changed in place.
    """
    hooks = cfg.get('default_hooks')
    if hooks:
        cfg.default_hooks = {
            name: hook
            for name, hook in hooks.items()
            if hook is not None or name in _MMENGINE_DEFAULT_HOOKS
        }


# --------------------------------------------------------------------------------------------
# input_size: one key for the train crop and the test resize + crop
# --------------------------------------------------------------------------------------------

#: ImageNet's evaluation convention: resize the short edge to size / 0.875, then centre-crop.
TEST_CROP_FRACTION = 0.875

#: Pipeline sizes written as ``'auto'`` in the base dataset configs, and what they become:
#: ``'crop'`` = ``input_size``, ``'resize'`` = ``floor(input_size / 0.875)`` (256 for 224).
AUTO_SIZE_KEYS: Dict[Tuple[str, str], str] = {
    ('LoadAndRandomResizedCrop', 'scale'): 'crop',
    ('RandomResizedCrop', 'scale'): 'crop',
    ('CenterCrop', 'crop_size'): 'crop',
    ('Resize', 'scale'): 'crop',
    ('ResizeEdge', 'scale'): 'resize',
    ('LoadImage', 'min_size'): 'resize',
}


def eval_resize_size(input_size: int) -> int:
    """Short edge the test pipeline resizes to before the centre crop of ``input_size``."""
    return int(math.floor(input_size / TEST_CROP_FRACTION))


def _pipelines(cfg: Config) -> Iterator[Tuple[str, List[Any]]]:
    """``(dotted key, pipeline list)`` of every dataset of every dataloader, and of the
    top-level ``*_pipeline`` variables configs define (``train_pipeline``, ...)."""
    for key, value in cfg.items():
        if str(key).endswith('_pipeline') and isinstance(value, list):
            yield str(key), value
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for index, dataset in enumerate(leaf_datasets(loader.dataset)):
            pipeline = dataset.get('pipeline')
            if isinstance(pipeline, list):
                yield f'{key}.dataset{"" if index == 0 else f"[{index}]"}.pipeline', pipeline


def apply_input_size(cfg: Config) -> None:
    """Replace pipeline sizes written as ``'auto'`` by values from the top-level ``input_size``.

    The base dataset configs write the train crop, the test resize and the test crop as
    ``'auto'`` (see :data:`AUTO_SIZE_KEYS`), so ``input_size = 160`` in a config, or
    ``--cfg-options input_size=160``, sets all of them. A size written as a number stays.

    Args:
        cfg (Config): The config, changed in place.

    Raises:
        ConfigError: ``input_size`` is not a positive whole number, or a pipeline says
            ``'auto'`` where the config has no ``input_size``.
    """
    input_size = cfg.get('input_size')
    if input_size is not None and (
        isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1
    ):
        raise ConfigError(f'input_size={input_size!r}: expected a whole number of pixels >= 1')
    for key, pipeline in _pipelines(cfg):
        for index, transform in enumerate(pipeline):
            if not isinstance(transform, dict):
                continue
            type_name = str(transform.get('type', '')).rpartition('.')[2]
            for (name, size_key), kind in AUTO_SIZE_KEYS.items():
                if type_name != name or transform.get(size_key) != 'auto':
                    continue
                if input_size is None:
                    raise ConfigError(
                        f"{key}.{index}.{size_key}='auto' follows input_size, and the config "
                        f'has none: set input_size = 224 (or your size) in the config'
                    )
                size = input_size if kind == 'crop' else eval_resize_size(input_size)
                transform[size_key] = size


def resolve_config(cfg: Config) -> Config:
    """A copy of ``cfg`` with mmtl's meaning applied, ready for mmengine's Runner.

    ``input_size`` into the pipelines, ``data_root`` into the datasets, ``'auto'`` loader
    values for this machine, schedulers that would start after ``max_epochs`` dropped, and
    ``default_hooks.X=None`` switching hook X off. Idempotent.

    Args:
        cfg (Config | dict): The config as written (file + overrides); not changed.

    Returns:
        Config: The resolved copy (same ``filename``).
    """
    if isinstance(cfg, Config):
        resolved = copy.deepcopy(cfg)
    else:
        resolved = Config(copy.deepcopy(dict(cfg)))
    apply_input_size(resolved)
    apply_data_root(resolved)
    resolve_dataloader_defaults(resolved)  # 'auto' workers / pin_memory; options 0 workers refuse
    drop_schedulers_past_the_end(resolved)
    drop_disabled_default_hooks(resolved)
    return resolved


__all__ = [
    'AUTO_SIZE_KEYS',
    'apply_data_root',
    'apply_input_size',
    'drop_disabled_default_hooks',
    'drop_schedulers_past_the_end',
    'resolve_config',
    'eval_resize_size',
]
