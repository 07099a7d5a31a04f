"""Distributed set-up that also works on CPU-only machines.

Without CUDA mmtl starts the gloo process group itself and asks for a DDP wrapper without
``device_ids`` (mmengine's launcher assumes GPUs). The collective timeout is
``env_cfg.dist_cfg.timeout`` seconds, overridden by ``$MMTL_DIST_TIMEOUT``.
"""

import datetime
import os
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from .errors import ConfigError


def uses_cuda() -> bool:
    """Whether this process will run on CUDA (a GPU is visible)."""
    return torch.cuda.is_available()


#: Environment variable that overrides ``env_cfg.dist_cfg.timeout`` (seconds).
TIMEOUT_ENV = 'MMTL_DIST_TIMEOUT'


def dist_timeout(cfg: Config) -> Optional[float]:
    """The collective timeout in seconds: ``$MMTL_DIST_TIMEOUT``, else
    ``env_cfg.dist_cfg.timeout`` (written back there for mmengine), else None (torch's).

    Args:
        cfg (Config): The config, changed in place.

    Returns:
        float | None: Seconds.

    Raises:
        ConfigError: The value is not a positive number.
    """
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    source, value = 'env_cfg.dist_cfg.timeout', dist_cfg.get('timeout')
    if os.environ.get(TIMEOUT_ENV):
        source, value = TIMEOUT_ENV, os.environ[TIMEOUT_ENV]
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if not 0 < seconds < float('inf'):  # nan fails too
        raise ConfigError(f'{source}={value!r}: the timeout must be a number of seconds > 0')
    dist_cfg['timeout'] = seconds
    return seconds


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a CPU-only distributed run of ``cfg`` (no-op on GPUs or without a launcher).

    Args:
        cfg (Config): The config; its ``launcher`` decides. Changed in place.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none':
        return
    timeout = dist_timeout(cfg)
    if uses_cuda():
        return
    if launcher != 'pytorch':
        raise ConfigError(
            f'launcher {launcher!r} on a machine without CUDA: use '
            f'tools/dist_train.sh (torchrun, launcher "pytorch") for CPU processes'
        )
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    # An explicit None keeps the Runner's default device_ids=[LOCAL_RANK] out (CPU modules).
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        extra = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **extra,
        )
