"""Distributed set-up that also works on CPU-only machines.

mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally and its
Runner wraps models with ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules. On a
machine without CUDA mmtl therefore starts the gloo process group itself (mmengine then
skips its own start) and asks for a DDP wrapper without ``device_ids``. On GPUs nothing
changes: NCCL and mmengine's defaults apply.
"""

import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from .errors import ConfigError


def uses_cuda() -> bool:
    """Whether this process will run on CUDA (a GPU is visible)."""
    return torch.cuda.is_available()


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a CPU-only distributed run of ``cfg`` (no-op on GPUs or without a launcher).

    Args:
        cfg (Config): The config; its ``launcher`` decides. Changed in place.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or uses_cuda():
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
        torch_dist.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE'])
        )
