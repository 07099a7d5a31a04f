"""What an mmtl config means beyond plain mmengine, applied when the Runner is built.

:func:`resolve_config` turns ``data_root``, ``input_size``, ``'auto'`` loader settings and
``default_hooks.X=None`` into the plain config mmengine's Runner builds from. Every step is
idempotent. Base configs cannot call ``os`` or ``torch``, so machine-sized values say ``'auto'``.
"""

import copy
import math
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config

from mmtl.utils.errors import ConfigError

from .access import leaf_datasets, transform_name

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def loader_datasets(cfg: Config) -> Iterator[Tuple[str, int, dict]]:
    """``(dataloader key, index, dataset)`` of every leaf dataset of every dataloader."""
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if loader and isinstance(loader.get('dataset'), dict):
            for index, dataset in enumerate(leaf_datasets(loader.dataset)):
                yield key, index, dataset


#: Upper bound of automatic workers per process (more rarely helps one GPU).
MAX_AUTO_WORKERS = 8


def auto_num_workers(cpus: Optional[int] = None, local_processes: Optional[int] = None) -> int:
    """Dataloader workers per process: the CPUs shared among this machine's processes.

    Args:
        cpus (int, optional): CPUs available. Defaults to those this process may run on.
        local_processes (int, optional): Training processes on this machine. Defaults to
            ``LOCAL_WORLD_SIZE`` (set by torchrun), else ``SLURM_NTASKS_PER_NODE``, else 1.

    Returns:
        int: Between 1 and :data:`MAX_AUTO_WORKERS`.
    """
    if cpus is None:
        affinity = getattr(os, 'sched_getaffinity', None)  # Linux: the affinity mask
        cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    if local_processes is None:
        env = os.environ.get('LOCAL_WORLD_SIZE') or os.environ.get('SLURM_NTASKS_PER_NODE')
        local_processes = int(env) if env and env.isdigit() else 1
    return max(1, min(MAX_AUTO_WORKERS, cpus // max(1, local_processes)))


def resolve_dataloader_defaults(cfg: Config) -> None:
    """Make the dataloaders buildable on this machine: ``'auto'`` ``num_workers`` becomes
    :func:`auto_num_workers` and ``'auto'`` ``pin_memory`` whether CUDA is used; ``drop_last``
    (which torch refuses beside a batch sampler) moves into a ``SmallDataBatchSampler``;
    ``persistent_workers`` and ``prefetch_factor``, which torch refuses without workers, go
    where ``num_workers`` is 0.

    Args:
        cfg (Config): The config, changed in place.
    """
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader:
            continue
        if loader.get('num_workers') == 'auto':
            loader.num_workers = auto_num_workers()
        if loader.get('pin_memory') == 'auto':
            from mmtl.utils.dist import uses_cuda  # imports torch: only when a Runner is built

            loader.pin_memory = uses_cuda() and cfg.get('device', 'cuda') != 'cpu'
        sampler = loader.get('batch_sampler')
        if 'drop_last' in loader and isinstance(sampler, dict):
            if sampler.get('type') in ('SmallDataBatchSampler', 'mmtl.SmallDataBatchSampler'):
                sampler['drop_last'] = loader.pop('drop_last')
        if loader.get('num_workers', 0) == 0:
            if loader.get('persistent_workers'):
                loader.persistent_workers = False
            loader.pop('prefetch_factor', None)


def apply_data_root(cfg: Config) -> None:
    """Copy the top-level ``data_root`` into each dataloader's dataset that has none.

    Args:
        cfg (Config): The config, changed in place.
    """
    data_root = cfg.get('data_root')
    if data_root is None:
        return
    for _, _, dataset in loader_datasets(cfg):
        dataset.setdefault('data_root', data_root)


def drop_schedulers_past_the_end(cfg: Config) -> None:
    """Remove epoch-based schedulers that would start after training ends (mmengine
    refuses them: "end should be larger than begin").

    Args:
        cfg (Config): The config, changed in place.
    """
    train_cfg = cfg.get('train_cfg') or {}
    max_epochs = train_cfg.get('max_epochs') if train_cfg.get('by_epoch', True) else None
    schedulers = cfg.get('param_scheduler')
    if max_epochs is not None and isinstance(schedulers, list):
        cfg.param_scheduler = [
            s for s in schedulers if not s.get('by_epoch', True) or s.get('begin', 0) < max_epochs
        ]


#: The default hooks mmengine itself accepts as None (it then leaves them out).
_MMENGINE_DEFAULT_HOOKS = frozenset(
    ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')
)


def drop_disabled_default_hooks(cfg: Config) -> None:
    """Remove ``default_hooks`` entries set to None (mmengine accepts None only for its
    own six), so any default hook can be switched off.

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
    for key, index, dataset in loader_datasets(cfg):
        pipeline = dataset.get('pipeline')
        if isinstance(pipeline, list):
            yield f'{key}.dataset{"" if index == 0 else f"[{index}]"}.pipeline', pipeline


def apply_input_size(cfg: Config) -> None:
    """Replace pipeline sizes written as ``'auto'`` (:data:`AUTO_SIZE_KEYS`) by values from
    the top-level ``input_size``; a size written as a number stays.

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
            type_name = transform_name(transform)
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

    Args:
        cfg (Config | dict): The config as written (file + overrides); not changed.

    Returns:
        Config: The resolved copy (same ``filename``).
    """
    resolved = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(copy.deepcopy(dict(cfg)))
    apply_input_size(resolved)
    apply_data_root(resolved)
    resolve_dataloader_defaults(resolved)
    drop_schedulers_past_the_end(resolved)
    drop_disabled_default_hooks(resolved)
    return resolved
