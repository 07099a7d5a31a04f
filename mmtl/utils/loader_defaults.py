"""Dataloader settings sized to the machine: ``num_workers='auto'`` and ``pin_memory='auto'``.

Base configs cannot call ``os`` or ``torch`` (mmengine turns a config that imports a
non-builtin module into a lazy-import config, which cannot inherit old-style bases), so they
say ``'auto'`` and :func:`resolve_dataloader_defaults` decides when the Runner is built
(:meth:`mmtl.engine.MMTLRunner.from_cfg`, through
:func:`mmtl.utils.config_semantics.resolve_config`).
"""

import os
from typing import Optional

from mmengine.config import Config

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: Upper bound of automatic workers per process (more rarely helps one GPU).
MAX_AUTO_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_num_workers(cpus: Optional[int] = None, local_processes: Optional[int] = None) -> int:
    """Dataloader workers per process: the CPUs shared among this machine's processes.

    Args:
        cpus (int, optional): CPUs available. Defaults to :func:`available_cpus`.
        local_processes (int, optional): Training processes on this machine. Defaults to
            ``LOCAL_WORLD_SIZE`` (set by torchrun), else ``SLURM_NTASKS_PER_NODE``, else 1.

    Returns:
        int: Between 1 and :data:`MAX_AUTO_WORKERS`.
    """
    cpus = available_cpus() if cpus is None else cpus
    if local_processes is None:
        env = os.environ.get('LOCAL_WORLD_SIZE') or os.environ.get('SLURM_NTASKS_PER_NODE')
        local_processes = int(env) if env and env.isdigit() else 1
    return max(1, min(MAX_AUTO_WORKERS, cpus // max(1, local_processes)))


def cuda_in_use(cfg: Config) -> bool:
    """Whether the run will put batches on a CUDA device."""
    from .dist import uses_cuda  # imports torch: only when a Runner is being built

    return uses_cuda() and cfg.get('device', 'cuda') != 'cpu'


def fix_dataloader_workers(cfg: Config) -> None:
    """Drop the options PyTorch refuses without worker processes where ``num_workers`` is 0.

    ``persistent_workers=True`` and ``prefetch_factor`` need workers, so a user who sets
    ``num_workers=0`` (to debug, or on a small machine) would otherwise get a crash.

    Args:
        cfg (Config): The config, changed in place.
    """
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader or loader.get('num_workers', 0) != 0:
            continue
        if loader.get('persistent_workers'):
            loader.persistent_workers = False
        loader.pop('prefetch_factor', None)


def resolve_dataloader_defaults(cfg: Config) -> None:
    """Replace ``'auto'`` dataloader settings by values for this machine.

    - ``num_workers='auto'``: :func:`auto_num_workers`.
    - ``pin_memory='auto'``: True when CUDA is used (page-locked batches copy to the GPU
      asynchronously), False on CPU (PyTorch would warn and ignore it).
    - then :func:`fix_dataloader_workers`: no ``persistent_workers`` or ``prefetch_factor``
      where ``num_workers`` is 0, and :func:`fold_drop_last_into_batch_sampler`.

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
            loader.pin_memory = cuda_in_use(cfg)
    fix_dataloader_workers(cfg)
    fold_drop_last_into_batch_sampler(cfg)


def fold_drop_last_into_batch_sampler(cfg: Config) -> None:
    """Move ``<loader>.drop_last`` into the loader's ``SmallDataBatchSampler``.

    torch refuses ``drop_last`` beside a batch sampler; a config (or ``--cfg-options
    train_dataloader.drop_last=True``) that sets it means the batch sampler's.

    Args:
        cfg (Config): The config, changed in place.
    """
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not loader or 'drop_last' not in loader:
            continue
        batch_sampler = loader.get('batch_sampler')
        if isinstance(batch_sampler, dict) and batch_sampler.get('type') in (
            'SmallDataBatchSampler',
            'mmtl.SmallDataBatchSampler',
        ):
            batch_sampler['drop_last'] = loader.pop('drop_last')
