"""Turning a config and command-line options into an mmengine Runner."""

import json
import math
import os.path as osp
from argparse import Namespace
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmtl.utils.checkpoint import download_checkpoint, is_url
from mmtl.utils.cli import ConfigError
from mmtl.utils.config import load_config, validate_config
from mmtl.utils.dist import setup_cpu_distributed
from mmtl.utils.fileio import atomic_open


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config file name without extension>``."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision with dynamic loss scaling."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            '--amp: mixed precision in mmengine 0.10.7 needs a CUDA GPU, '
            'and none is visible; drop --amp to train in fp32 on the CPU'
        )
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ConfigError(
            f'--amp: optim_wrapper.type is {wrapper.type!r}; only OptimWrapper '
            f'can be switched to AmpOptimWrapper'
        )
    wrapper.type = 'AmpOptimWrapper'
    wrapper.setdefault('loss_scale', 'dynamic')


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
    elif '://' not in load_from and not osp.isfile(osp.expanduser(load_from)):
        raise ConfigError(f'load_from: checkpoint file not found: {load_from}')


def _tool_config(args: Namespace) -> Config:
    """Config file + ``--cfg-options``, with the launcher and work dir of the command line."""
    cfg = load_config(args.config, args.cfg_options)
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
    if args.amp:
        enable_amp(cfg)
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
    check_load_from(cfg)
    setup_cpu_distributed(cfg)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the Runner named by ``runner_type`` (mmengine's ``Runner`` by default)."""
    validate_config(cfg)  # bad keys, values, types, data roots, class count: fail before work
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


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
