"""Turning a config and command-line options into an mmengine Runner."""

import json
import math
import os.path as osp
from argparse import Namespace
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmtl.engine.runner import MMTLRunner
from mmtl.utils.checkpoint import download_checkpoint, is_url
from mmtl.utils.config import read_config
from mmtl.utils.dist import setup_cpu_distributed, uses_cuda
from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open
from mmtl.utils.hf_hub import hub_weights_path, is_hub_ref


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config file name without extension>``."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


#: ``--amp`` precision -> the dtype name mmengine's AmpOptimWrapper takes (CUDA).
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}

#: ``--amp`` values: a precision, ``'auto'`` (the fastest safe one for the device, also the
#: default when ``--amp`` is not given) or ``'none'`` (float32).
AMP_CHOICES = ('auto', 'none', *AMP_DTYPES)

#: Optimizer wrapper types that ``--amp`` may replace.
SWITCHABLE_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper', 'BF16AutocastOptimWrapper')


def resolve_auto_precision(cuda: bool) -> Tuple[str, str]:
    """The precision ``--amp auto`` (and the default) picks for the device, and why.

    On CUDA: bf16 where the GPU has it (Ampere and later; no loss scaling), else fp16 with
    dynamic loss scaling. On the CPU: bf16 autocast where the processor computes bfloat16
    natively (faster at the same accuracy, see docs/performance.md), else float32 (bf16
    would be emulated, and slower).

    Args:
        cuda (bool): Whether the run uses CUDA GPUs.

    Returns:
        tuple[str, str]: ``'fp16'``, ``'bf16'`` or ``'none'``, and a one-line reason.
    """
    import torch

    from mmtl.utils.precision import NATIVE_BF16_FLAGS, cpu_flags, cpu_has_native_bf16, cpu_name

    if cuda:
        name = _gpu_name()
        if torch.cuda.is_bf16_supported():
            return 'bf16', f'{name} supports bfloat16'
        return 'fp16', f'{name} has no bfloat16'
    if cpu_has_native_bf16():
        flags = ', '.join(sorted(cpu_flags() & NATIVE_BF16_FLAGS))
        return 'bf16', f'{cpu_name()} computes bfloat16 natively ({flags})'
    return 'none', f'{cpu_name()} has no native bfloat16 (bf16 autocast would be emulated, slower)'


def enable_amp(cfg: Config, precision: str = 'auto') -> str:
    """Switch the optimizer wrapper to mixed precision (or back to float32).

    On CUDA: mmengine's ``AmpOptimWrapper`` in float16 with dynamic loss scaling, or in
    bfloat16. On the CPU: mmtl's ``BF16AutocastOptimWrapper`` (bfloat16 autocast, no loss
    scaling); float16 there is an error. ``'auto'`` picks with
    :func:`resolve_auto_precision`; ``'none'`` sets the plain float32 ``OptimWrapper``.

    Args:
        cfg (Config): The config, changed in place.
        precision (str): One of :data:`AMP_CHOICES`. Defaults to ``'auto'``.

    Returns:
        str: The precision applied: ``'fp16'``, ``'bf16'`` or ``'none'``.
    """
    import torch

    if precision not in AMP_CHOICES:
        raise ConfigError(f'--amp {precision}: choose one of {", ".join(AMP_CHOICES)}')
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in SWITCHABLE_WRAPPERS:
        raise ConfigError(
            f'--amp: optim_wrapper.type is {wrapper.type!r}; only '
            f'{", ".join(SWITCHABLE_WRAPPERS)} can be switched to mixed precision'
        )
    cuda = uses_cuda()
    if precision == 'auto':
        precision, _ = resolve_auto_precision(cuda)
    if precision == 'none':
        for key in ('loss_scale', 'dtype', 'device_type'):
            wrapper.pop(key, None)
        wrapper.type = 'OptimWrapper'
        return precision
    if not cuda:
        if precision == 'fp16':
            raise ConfigError(
                '--amp fp16: float16 mixed precision needs a CUDA GPU (loss scaling with '
                "mmengine's AmpOptimWrapper) and none is visible; on the CPU use --amp bf16"
            )
        wrapper.pop('loss_scale', None)
        wrapper.pop('dtype', None)
        wrapper.update(type='BF16AutocastOptimWrapper', device_type='cpu')
        return precision
    if precision == 'bf16' and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f'--amp bf16: {torch.cuda.get_device_name()} has no bfloat16 support; use --amp fp16'
        )
    wrapper.pop('device_type', None)
    wrapper.update(type='AmpOptimWrapper', dtype=AMP_DTYPES[precision])
    wrapper.setdefault('loss_scale', 'dynamic')
    return precision


def apply_training_precision(cfg: Config, amp: Optional[str]) -> None:
    """``--amp`` as given, or the default precision of the device when it is not given.

    The default is ``--amp auto`` (see :func:`resolve_auto_precision`), applied only where
    the config leaves ``optim_wrapper.type`` unset (mmtl's and mmpretrain's base schedules
    do) and has one optimizer: a config that names its wrapper type keeps it, including
    ``type='OptimWrapper'`` for float32 on purpose (the 32-px digits config: bf16 is slower
    at such small inputs). The choice is logged in one line.

    Args:
        cfg (Config): The config, changed in place.
        amp (str, optional): The ``--amp`` value; None when the flag was not given.
    """
    from mmengine.logging import print_log

    wrapper = cfg.get('optim_wrapper')
    if amp is not None:
        applied = enable_amp(cfg, amp)
        print_log(f'precision: {_describe(applied)} (--amp {amp})', logger='current')
        return
    if not wrapper or 'optimizer' not in wrapper:
        return
    if 'type' in wrapper:
        print_log(
            f'precision: as the config sets it (optim_wrapper.type={wrapper.type!r})',
            logger='current',
        )
        return
    precision, reason = resolve_auto_precision(uses_cuda())
    enable_amp(cfg, precision)
    switch = '--amp none for float32' if precision != 'none' else '--amp bf16 to force it'
    print_log(f'precision: {_describe(precision)} by default: {reason}; {switch}', logger='current')
    if precision == 'bf16' and not uses_cuda():
        _eval_in_bf16(cfg, 'val_cfg')


def _eval_in_bf16(cfg: Config, key: str) -> bool:
    """``<key>.fp16=True`` (mmengine's autocast: bfloat16 on the CPU) unless the config
    sets ``fp16`` itself or has no such loop."""
    loop = cfg.get(key)
    if loop is None or 'fp16' in loop:
        return False
    loop.fp16 = True
    return True


def apply_test_precision(cfg: Config) -> None:
    """Test in bfloat16 autocast on CPUs with native bfloat16 (faster with the same top-1,
    docs/performance.md), unless the config sets ``test_cfg.fp16``.

    GPUs keep mmengine's default (float32) for testing: not measured. Logged in one line.

    Args:
        cfg (Config): The config, changed in place.
    """
    from mmengine.logging import print_log

    if uses_cuda() or cfg.get('test_cfg') is None:
        return
    precision, reason = resolve_auto_precision(False)
    if precision == 'bf16' and _eval_in_bf16(cfg, 'test_cfg'):
        print_log(
            f'precision: bfloat16 autocast for testing by default: {reason}; '
            '--cfg-options test_cfg.fp16=False for float32',
            logger='current',
        )


def _gpu_name() -> str:
    import torch

    try:
        return torch.cuda.get_device_name()
    except (AssertionError, RuntimeError):
        return 'the GPU'


def _describe(precision: str) -> str:
    return {'none': 'float32', 'fp16': 'float16 autocast', 'bf16': 'bfloat16 autocast'}[precision]


def apply_compile_and_memory_format(cfg: Config, compile: bool, channels_last: bool) -> None:
    """``--compile``: ``torch.compile`` the training step (mmengine's ``cfg.compile``);
    ``--channels-last``: the model in channels-last memory format (:class:`ChannelsLastHook`).

    Args:
        cfg (Config): The config, changed in place.
        compile (bool): Whether to compile.
        channels_last (bool): Whether to convert the model to channels-last.
    """
    if compile and not isinstance(cfg.get('compile'), dict):
        cfg.compile = True  # a compile dict of the config (backend, mode) is kept
    if channels_last:
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(h.get('type') == 'ChannelsLastHook' for h in hooks):
            hooks.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = hooks


def check_amp_device(cfg: Config) -> None:
    """Refuse mmengine's CUDA-only ``AmpOptimWrapper`` in a config run without a GPU."""
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') == 'AmpOptimWrapper' and not uses_cuda():
        raise ConfigError(
            "optim_wrapper.type='AmpOptimWrapper' needs a CUDA GPU and none is visible; "
            "on the CPU use --amp bf16 (type='BF16AutocastOptimWrapper') or plain OptimWrapper"
        )


def set_gradient_accumulation(cfg: Config, steps: int) -> None:
    """Sum the gradients of ``steps`` iterations before each optimizer step.

    The effective batch becomes processes x batch_size x steps, and ``--auto-scale-lr``
    counts it (see :class:`mmtl.engine.MMTLRunner`).

    Args:
        cfg (Config): The config, changed in place.
        steps (int): ``optim_wrapper.accumulative_counts``; at least 1.
    """
    if steps < 1:
        raise ConfigError(f'--accumulate {steps}: must be a whole number >= 1')
    if 'optimizer' not in cfg.optim_wrapper:
        raise ConfigError(
            '--accumulate: optim_wrapper holds several optimizers; set accumulative_counts '
            'in each of them in the config'
        )
    cfg.optim_wrapper.accumulative_counts = steps


def check_sync_bn(cfg: Config) -> None:
    """Refuse ``sync_bn`` where torch cannot synchronise BatchNorm: CPU processes.

    torch's ``SyncBatchNorm`` raises "SyncBatchNorm expected input tensor to be on GPU" at
    the first training forward of a CPU process group; this says so before any work. With
    one process mmengine turns SyncBN back into BatchNorm, so there it is harmless.
    """
    sync_bn = cfg.get('sync_bn')
    if sync_bn is None or cfg.get('launcher', 'none') == 'none' or uses_cuda():
        return
    raise ConfigError(
        f'--sync-bn / sync_bn={sync_bn!r}: torch synchronises BatchNorm only on GPUs and '
        f'these processes run on the CPU (gloo); drop --sync-bn (each process then normalises '
        f'with its own batch statistics)'
    )


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on lr scaling by the real total batch size."""
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise ConfigError(
            '--auto-scale-lr: the config has no auto_scale_lr.base_batch_size '
            '(the total batch the lr was chosen for, e.g. 256 for 8 x 32)'
        )
    cfg.auto_scale_lr.enable = True


def disable_validation(cfg: Config) -> None:
    """Drop the validation loop (and the best-checkpoint rule that needs it)."""
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None:
        checkpoint.pop('save_best', None)


def check_load_from(cfg: Config) -> None:
    """Fail before any work when ``load_from`` cannot be read; fetch URLs into the cache."""
    load_from = cfg.get('load_from')
    if not load_from:
        return
    if is_url(load_from):
        cfg.load_from = download_checkpoint(load_from)
    elif is_hub_ref(load_from):  # hf-hub:timm/<name>, timm://<name>: the local HF cache
        cfg.load_from = hub_weights_path(load_from)
    elif '://' not in load_from and not osp.isfile(osp.expanduser(load_from)):
        raise ConfigError(f'load_from: checkpoint file not found: {load_from}')


def _tool_config(args: Namespace) -> Config:
    """Config file + ``--cfg-options`` (as written: the Runner resolves a copy), with the
    launcher and work dir of the command line."""
    if isinstance(args.config, Config):  # mmtl.fit / mmtl.test of a loaded config
        cfg = args.config
    else:
        cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    return cfg


def prepare_train_config(args: Namespace) -> Config:
    """The config for ``tools/train.py``: file + ``--cfg-options`` + flags.

    Args:
        args (Namespace): Parsed arguments of ``tools/train.py``.

    Returns:
        Config: Ready for :func:`build_runner`.
    """
    cfg = _tool_config(args)
    apply_training_precision(cfg, args.amp)
    check_amp_device(cfg)
    apply_compile_and_memory_format(
        cfg, getattr(args, 'compile', False), getattr(args, 'channels_last', False)
    )
    if args.accumulate is not None:
        set_gradient_accumulation(cfg, args.accumulate)
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    check_sync_bn(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.no_validate:
        disable_validation(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None  # the latest checkpoint in work_dir
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    check_load_from(cfg)
    setup_cpu_distributed(cfg)
    return cfg


def prepare_test_config(args: Namespace) -> Config:
    """The config for ``tools/test.py``: evaluate ``args.checkpoint`` on the test split."""
    cfg = _tool_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    apply_test_precision(cfg)
    check_load_from(cfg)
    setup_cpu_distributed(cfg)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the Runner named by ``runner_type`` (``'MMTLRunner'`` in the base runtime), as
    mmengine's ``RUNNERS.build`` does, or :class:`mmtl.engine.MMTLRunner` without one.

    :meth:`MMTLRunner.from_cfg` checks the config (keys, values, types, data roots, class
    count) and applies mmtl's meaning to a copy before any work.
    """
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return MMTLRunner.from_cfg(cfg)


def save_test_metrics(runner: Runner, metrics: dict, path: Optional[str] = None) -> Optional[str]:
    """Write test metrics as JSON (rank 0 only), atomically.

    Tensors and arrays (the confusion matrix) become nested lists, numpy numbers plain
    numbers, and NaN or infinite values ``null``, so that the file is strict JSON.

    Args:
        runner (Runner): The runner that tested; gives the work dir and checkpoint.
        metrics (dict): What ``runner.test()`` returned.
        path (str, optional): Output file. Defaults to ``<work_dir>/test_metrics.json``.

    Returns:
        str | None: The file written (None on other ranks).
    """
    if not is_main_process():
        return None
    path = path or osp.join(runner.work_dir, 'test_metrics.json')
    record = {
        'config': runner.cfg.filename,
        'checkpoint': runner.cfg.load_from,
        'metrics': {key: _to_json(value) for key, value in metrics.items()},
    }
    with atomic_open(path, 'w') as f:
        json.dump(record, f, indent=2, allow_nan=False)
    runner.logger.info(f'test metrics written to {path}')
    return path


def _to_json(value):
    """Plain JSON value of a metric: lists for tensors/arrays, None for NaN and infinity."""
    if hasattr(value, 'tolist'):  # tensors, arrays and numpy scalars
        value = value.tolist()
    if isinstance(value, dict):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
