"""What the software and hardware around mmtl are: versions, GPUs, the device a run will use."""

import contextlib
import importlib.metadata
import os
import platform
import sys
from typing import Dict

#: Distributions whose versions matter for mmtl, in the order they are printed.
PACKAGES = (
    'torch',
    'torchvision',
    'mmengine',
    'mmcv-lite',
    'mmcv',
    'mmpretrain',
    'openmim',
    'mmtl',
    'numpy',
    'opencv-python',
    'setuptools',
)


def format_cudnn_version(code: int) -> str:
    """cuDNN's integer version as text: 92400 -> '9.24.0', 8907 -> '8.9.7'."""
    major_scale = 10000 if code >= 90000 else 1000
    major, rest = divmod(code, major_scale)
    return f'{major}.{rest // 100}.{rest % 100}'


#: mmengine's ``collect_env`` keys renamed to mmtl's (the distribution names).
MMENGINE_KEYS = {'PyTorch': 'torch', 'TorchVision': 'torchvision', 'MMEngine': 'mmengine'}
#: mmengine's keys left out: said better by mmtl's own, or irrelevant to a user's report.
MMENGINE_DROPPED = ('sys.platform', 'Python', 'numpy_random_seed', 'MUSA available')
#: The long build report of torch, printed only when asked for.
TORCH_BUILD_KEY = 'PyTorch compiling details'


def collect_env(verbose: bool = False) -> Dict[str, object]:
    """mmengine's ``collect_env`` plus the platform, CPUs, torch threads, cuDNN,
    ``CUDA_VISIBLE_DEVICES`` and the versions of :data:`PACKAGES`.

    Args:
        verbose (bool): Also give torch's build report (``PyTorch compiling details``).
            Defaults to False.

    Returns:
        dict: Flat key -> value, in print order.
    """
    import torch
    from mmengine.utils.dl_utils import collect_env as mmengine_collect_env

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    if cudnn:
        cudnn = format_cudnn_version(cudnn)
    env: Dict[str, object] = {
        'Python': sys.version.split()[0],
        'Platform': platform.platform(),
        'CPUs': os.cpu_count(),
        'torch threads': torch.get_num_threads(),
    }
    for key, value in mmengine_collect_env().items():
        if key in MMENGINE_DROPPED or (key == TORCH_BUILD_KEY and not verbose):
            continue
        env.setdefault(MMENGINE_KEYS.get(key, key), value)
    env.update(
        {
            'torch CUDA build': torch.version.cuda or 'none (CPU-only build)',
            'cuDNN': cudnn or 'not available',
            'CUDA available': torch.cuda.is_available(),
            'CUDA_VISIBLE_DEVICES': os.environ.get('CUDA_VISIBLE_DEVICES', '(not set)'),
        }
    )
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            env.setdefault(name, importlib.metadata.version(name))  # torch keeps its build tag
    if TORCH_BUILD_KEY in env:
        env[TORCH_BUILD_KEY] = env.pop(TORCH_BUILD_KEY)  # the long text goes last
    return env


def configured_device(cfg) -> Dict[str, str]:
    """The device a training run of ``cfg`` will use here (CUDA whenever a GPU is visible:
    a config has no device key), and why.

    Args:
        cfg (Config): The config.

    Returns:
        dict: ``device`` (``cuda`` or ``cpu``), ``reason``, and ``notes`` (one line each).
    """
    import torch

    notes = []
    if torch.cuda.is_available():
        device = 'cuda'
        reason = f'{torch.cuda.device_count()} CUDA GPU(s) visible; --device cpu would hide them'
    else:
        device = 'cpu'
        reason = 'no CUDA GPU visible to this process'
        if torch.version.cuda is None:
            reason += ' (torch is a CPU-only build)'
        elif os.environ.get('CUDA_VISIBLE_DEVICES') == '':
            reason += ' (CUDA_VISIBLE_DEVICES is empty)'
        backend = (cfg.get('env_cfg') or {}).get('dist_cfg', {}).get('backend')
        if backend == 'nccl':
            notes.append('env_cfg.dist_cfg.backend is nccl: distributed runs here use gloo instead')
        if (cfg.get('optim_wrapper') or {}).get('type') == 'AmpOptimWrapper':
            notes.append('optim_wrapper is AmpOptimWrapper: mixed precision needs a CUDA GPU')
    loader = cfg.get('train_dataloader') or {}
    workers = loader.get('num_workers', 0)
    if workers and os.cpu_count() and workers > os.cpu_count():
        notes.append(f'train_dataloader.num_workers={workers} exceeds the {os.cpu_count()} CPUs')
    return {'device': device, 'reason': reason, 'notes': notes}
