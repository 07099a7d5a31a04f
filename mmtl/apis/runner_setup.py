"""Turning a config and command-line options into an mmengine Runner."""

import json
import math
import os.path as osp
from argparse import Namespace
from typing import Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmtl.config.check import check_cfg_options
from mmtl.config.load import read_config
from mmtl.engine.runner import MMTLRunner
from mmtl.utils.checkpoint import download_checkpoint, is_url
from mmtl.utils.dist import setup_cpu_distributed, uses_cuda
from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open
from mmtl.utils.hf_hub import hub_weights_path, is_hub_ref


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config file name without extension>``."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def work_dir_of(cfg: Config, work_dir: Optional[str] = None) -> str:
    """Where a run of ``cfg`` writes: ``work_dir``, else the config's, else the default.

    Args:
        cfg (Config): The config (its ``work_dir`` and file name).
        work_dir (str, optional): ``--work-dir`` or ``work_dir=``. Defaults to None.

    Returns:
        str: The work dir.

    Raises:
        ConfigError: Nothing names one and the config was built in memory (no file name).
    """
    work_dir = work_dir or cfg.get('work_dir')
    if work_dir:
        return work_dir
    if not cfg.filename:
        raise ConfigError('a config without a file name needs a work dir: give work_dir=...')
    return default_work_dir(cfg.filename)


#: ``--amp`` precision -> the dtype name mmengine's AmpOptimWrapper takes (CUDA).
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}
#: ``--amp`` values: a precision, ``'auto'`` (the device's fastest safe one) or ``'none'``.
AMP_CHOICES = ('auto', 'none', *AMP_DTYPES)
#: Optimizer wrapper types that ``--amp`` may replace.
SWITCHABLE_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper', 'BF16AutocastOptimWrapper')
_DESCRIBED = {'none': 'float32', 'fp16': 'float16 autocast', 'bf16': 'bfloat16 autocast'}


def resolve_auto_precision(cuda: bool) -> Tuple[str, str]:
    """The precision ``--amp auto`` picks: on CUDA bf16 where the GPU has it, else fp16; on
    the CPU bf16 autocast where it computes bfloat16 natively, else float32.

    Args:
        cuda (bool): Whether the run uses CUDA GPUs.

    Returns:
        tuple[str, str]: ``'fp16'``, ``'bf16'`` or ``'none'``, and a one-line reason.
    """
    from mmtl.utils import precision

    if cuda:
        name = torch.cuda.get_device_name() if torch.cuda.is_available() else 'the GPU'
        if torch.cuda.is_bf16_supported():
            return 'bf16', f'{name} supports bfloat16'
        return 'fp16', f'{name} has no bfloat16'
    features = precision.cpu_bf16_features()
    cpu = precision.cpu_name()
    if features:
        return 'bf16', f'{cpu} computes bfloat16 natively ({", ".join(sorted(features))})'
    return 'none', f'{cpu} has no native bfloat16 (bf16 autocast would be emulated, slower)'


def apply_training_precision(cfg: Config, amp: Optional[str]) -> None:
    """Switch the optimizer wrapper to the precision ``--amp`` names: mmengine's
    ``AmpOptimWrapper`` on CUDA, mmtl's ``BF16AutocastOptimWrapper`` on the CPU,
    ``OptimWrapper`` for ``'none'``. Without the flag, ``auto`` where the config leaves
    ``optim_wrapper.type`` unset and has one optimizer. The choice is logged in one line.

    Args:
        cfg (Config): The config, changed in place.
        amp (str, optional): The ``--amp`` value, one of :data:`AMP_CHOICES`; None when the
            flag was not given.

    Raises:
        ConfigError: An unknown ``amp``, a wrapper type that cannot be switched, or a
            precision the device does not have.
    """
    wrapper = cfg.get('optim_wrapper')
    if amp is None:
        if not wrapper or 'optimizer' not in wrapper:
            return
        if 'type' in wrapper:
            print_log(
                f'precision: as the config sets it (optim_wrapper.type={wrapper.type!r})',
                logger='current',
            )
            return
    elif amp not in AMP_CHOICES:
        raise ConfigError(f'--amp {amp}: choose one of {", ".join(AMP_CHOICES)}')
    elif wrapper.get('type', 'OptimWrapper') not in SWITCHABLE_WRAPPERS:
        raise ConfigError(
            f'--amp: optim_wrapper.type is {wrapper.type!r}; only '
            f'{", ".join(SWITCHABLE_WRAPPERS)} can be switched to mixed precision'
        )
    cuda = uses_cuda()
    precision, reason = resolve_auto_precision(cuda) if amp in (None, 'auto') else (amp, '')
    for key in ('loss_scale', 'dtype', 'device_type'):
        wrapper.pop(key, None)
    if precision == 'none':
        wrapper.type = 'OptimWrapper'
    elif not cuda:
        if precision == 'fp16':
            raise ConfigError(
                '--amp fp16: float16 mixed precision needs a CUDA GPU (loss scaling with '
                "mmengine's AmpOptimWrapper) and none is visible; on the CPU use --amp bf16"
            )
        wrapper.update(type='BF16AutocastOptimWrapper', device_type='cpu')
    elif precision == 'bf16' and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f'--amp bf16: {torch.cuda.get_device_name()} has no bfloat16 support; use --amp fp16'
        )
    else:
        wrapper.update(type='AmpOptimWrapper', dtype=AMP_DTYPES[precision], loss_scale='dynamic')
    if amp is not None:
        print_log(f'precision: {_DESCRIBED[precision]} (--amp {amp})', logger='current')
        return
    switch = '--amp none for float32' if precision != 'none' else '--amp bf16 to force it'
    print_log(
        f'precision: {_DESCRIBED[precision]} by default: {reason}; {switch}', logger='current'
    )
    val_cfg = cfg.get('val_cfg')
    if precision == 'bf16' and not cuda and val_cfg is not None and 'fp16' not in val_cfg:
        val_cfg.fp16 = True  # validate in bfloat16 autocast too, unless the config says


def apply_test_precision(cfg: Config) -> None:
    """Test in float32 (the scores ``inference_model`` gives) unless the config sets
    ``test_cfg.fp16``; on a CPU with native bfloat16 a log line names the faster option.

    Args:
        cfg (Config): The config (read only).
    """
    test_cfg = cfg.get('test_cfg')
    if uses_cuda() or test_cfg is None or 'fp16' in test_cfg:
        return
    if resolve_auto_precision(False)[0] == 'bf16':
        print_log(
            'precision: float32 for testing (the scores inference_model gives); '
            '--cfg-options test_cfg.fp16=True for bfloat16 autocast, faster on this CPU',
            logger='current',
        )


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


def disable_validation(cfg: Config) -> None:
    """Drop the validation loop (and the best-checkpoint rule that needs it)."""
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    ((cfg.get('default_hooks') or {}).get('checkpoint') or {}).pop('save_best', None)


def checked_config(config: Union[str, Config], cfg_options: Optional[dict]) -> Config:
    """A config file read, or a loaded config copied; ``cfg_options`` merged and checked.

    Args:
        config (str | Config): A config file (path, ``mmtl::`` or bare mmtl name) or object.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.

    Returns:
        Config: The config as written plus the overrides (not resolved).

    Raises:
        ConfigError: An override does not fit the config.
    """
    if isinstance(config, str):
        return read_config(config, cfg_options)
    cfg = config.copy()
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def _tool_config(args: Namespace) -> Config:
    """:func:`checked_config` of the config and ``--cfg-options``, with the launcher and
    work dir."""
    cfg = checked_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = work_dir_of(cfg, args.work_dir)
    return cfg


def prepare_train_config(args: Namespace) -> Config:
    """The config for ``tools/train.py``: file + ``--cfg-options`` + flags, checked.

    Args:
        args (Namespace): Parsed arguments of ``tools/train.py``.

    Returns:
        Config: Ready for :func:`build_runner`.
    """
    cfg = _tool_config(args)
    apply_training_precision(cfg, args.amp)
    cuda = uses_cuda()
    if (cfg.get('optim_wrapper') or {}).get('type') == 'AmpOptimWrapper' and not cuda:
        raise ConfigError(
            "optim_wrapper.type='AmpOptimWrapper' needs a CUDA GPU and none is visible; "
            "on the CPU use --amp bf16 (type='BF16AutocastOptimWrapper') or plain OptimWrapper"
        )
    if args.compile and not isinstance(cfg.get('compile'), dict):
        cfg.compile = True  # a compile dict of the config (backend, mode) is kept
    if args.channels_last:
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(h.get('type') == 'ChannelsLastHook' for h in hooks):
            hooks.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = hooks
    # The parser refuses --accumulate < 1; the runner's lr scaling counts it.
    if args.accumulate is not None:
        if 'optimizer' not in cfg.optim_wrapper:
            raise ConfigError(
                '--accumulate: optim_wrapper holds several optimizers; set '
                'accumulative_counts in each of them in the config'
            )
        cfg.optim_wrapper.accumulative_counts = args.accumulate
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    # torch's SyncBatchNorm fails at the first forward of a CPU process group.
    if cfg.get('sync_bn') is not None and cfg.get('launcher', 'none') != 'none' and not cuda:
        raise ConfigError(
            f'--sync-bn / sync_bn={cfg.sync_bn!r}: torch synchronises BatchNorm only on GPUs '
            f'and these processes run on the CPU (gloo); drop --sync-bn (each process then '
            f'normalises with its own batch statistics)'
        )
    if args.auto_scale_lr:  # validate_config refuses it without a base_batch_size
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr') or {}, enable=True)
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
    """The Runner named by ``runner_type``, else :class:`mmtl.engine.MMTLRunner`."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return MMTLRunner.from_cfg(cfg)


def save_test_metrics(runner: Runner, metrics: dict, path: Optional[str] = None) -> Optional[str]:
    """Write test metrics as strict JSON (rank 0 only), atomically: tensors and arrays as
    lists, NaN and infinity as ``null``.

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
