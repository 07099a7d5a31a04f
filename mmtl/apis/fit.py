"""Train and test from Python (a notebook) in one call each, with the tools' meaning.

    runner = mmtl.fit('my_fruit.py', cfg_options={'train_cfg.max_epochs': 5})
    metrics = mmtl.test(runner)                          # the best checkpoint of that run
    metrics = mmtl.test('work_dirs/my_fruit', checkpoint='last')

:func:`fit` is ``tools/train.py`` (``mim train``) and :func:`test` is ``tools/test.py``
(``mim test``): the same config checks, precision, lr scaling and checkpoints.
"""

import glob
import os
import os.path as osp
import shutil
from typing import Optional, Union

from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from mmtl.engine.work_dir_lock import LOCK_FILE, lock_work_dir
from mmtl.utils.errors import ConfigError
from mmtl.utils.run_args import (
    select_device,
    silence_irrelevant_warnings,
    test_parser,
    train_parser,
)

from .runner_setup import checked_config


def _not_found(what: str, work_dir: str, option: str) -> ConfigError:
    found = sorted(osp.basename(p) for p in glob.glob(osp.join(glob.escape(work_dir), '*.pth')))
    listing = ', '.join(found) if found else 'none'
    return ConfigError(f'{option} {what}: not found; checkpoints in {work_dir}: {listing}')


def find_checkpoint(work_dir: str, which: str = 'best', option: str = 'checkpoint') -> str:
    """The checkpoint ``which`` names: ``'best'``, ``'last'`` (in ``work_dir``) or a file.

    Args:
        work_dir (str): The training run's work dir.
        which (str): ``'best'`` (the ``best_*.pth`` the checkpoint hook kept), ``'last'``
            (what ``last_checkpoint`` names, as ``--resume`` does) or a checkpoint path or URL.
        option (str): How the caller names the argument, for the error. Defaults to
            ``'checkpoint'``.

    Returns:
        str: The checkpoint file (a URL or hub reference unchanged).

    Raises:
        ConfigError: No such checkpoint; the message lists those in ``work_dir``.
    """
    if which == 'best':
        best = sorted(glob.glob(osp.join(glob.escape(work_dir), 'best_*.pth')), key=osp.getmtime)
        if not best:
            raise _not_found('best (no best_*.pth)', work_dir, option)
        return best[-1]
    if which == 'last':
        path = find_latest_checkpoint(work_dir)
        if path and osp.isfile(path):
            return path
        raise _not_found('last (no last_checkpoint naming an existing file)', work_dir, option)
    if '://' in which or which.startswith('hf-hub:') or osp.isfile(osp.expanduser(which)):
        return which
    raise _not_found(repr(which), work_dir, option)


def fit(
    config: Union[str, Config],
    work_dir: Optional[str] = None,
    cfg_options: Optional[dict] = None,
    amp: Optional[str] = None,
    device: str = 'auto',
    resume: Optional[str] = None,
    auto_scale_lr: bool = False,
    verbose: bool = False,
) -> Runner:
    """Train ``config`` as ``mim train`` does, and return the runner.

    Args:
        config (str | Config): A config file (path, ``mmtl::`` or bare mmtl name) or a
            loaded config (changes made to it are kept).
        work_dir (str, optional): Where logs and checkpoints go. Defaults to
            ``work_dirs/<config name>``.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``
            (``{'train_cfg.max_epochs': 5}``).
        amp (str, optional): ``--amp``: ``'auto'``, ``'none'``, ``'fp16'`` or ``'bf16'``.
        device (str): ``'auto'``, ``'cpu'`` or ``'cuda'``. Defaults to ``'auto'``.
        resume (str, optional): ``'auto'`` (the work dir's last checkpoint) or a file.
        auto_scale_lr (bool): ``--auto-scale-lr``. Defaults to False.
        verbose (bool): Print the full log, not only the header, validations and summary
            (the work dir's log file has it all anyway). Defaults to False.

    Returns:
        Runner: The trained runner; ``mmtl.test(runner)`` tests its best checkpoint.
    """
    from .runner_setup import prepare_train_config

    silence_irrelevant_warnings()
    if verbose:
        cfg_options = dict(cfg_options or {}, verbose=True)
    args = train_parser().parse_args(['config'])
    args.config, args.cfg_options, args.work_dir = config, cfg_options, work_dir
    args.amp, args.device, args.resume, args.auto_scale_lr = amp, device, resume, auto_scale_lr
    select_device(device)
    return train_config(prepare_train_config(args))


def train_config(cfg: Config) -> Runner:
    """Build the runner of a prepared training config and train it; return the runner.

    A single-process run locks its work dir before building the Runner (which writes into
    it), so that a second training there is refused before it changes anything; a
    distributed run knows its ranks only later, and ``MMTLRunner.train`` locks.

    Args:
        cfg (Config): What ``prepare_train_config`` returned.

    Returns:
        Runner: The trained runner.

    Raises:
        WorkDirBusyError: Another training holds the work dir.
    """
    from .runner_setup import build_runner

    single = cfg.get('launcher', 'none') == 'none'
    work_dir = osp.abspath(cfg.work_dir)
    new_work_dir = not osp.exists(work_dir)
    lock = lock_work_dir(work_dir) if single else None
    runner = None
    try:
        runner = build_runner(cfg)
        runner.train()  # MMTLRunner.train's own lock_work_dir holds nothing in this process
    finally:
        if lock is not None:
            lock.release()
            # A config refused before any work leaves no work dir behind: only the lock is in it.
            if runner is None and new_work_dir and os.listdir(work_dir) == [LOCK_FILE]:
                shutil.rmtree(work_dir, ignore_errors=True)
    return runner


def test(
    target: Union[str, Config, Runner],
    checkpoint: str = 'best',
    work_dir: Optional[str] = None,
    cfg_options: Optional[dict] = None,
    device: str = 'auto',
    out_metrics: Optional[str] = None,
) -> dict:
    """Test a checkpoint on the test split as ``mim test`` does, and return the metrics.

    Args:
        target (str | Config | Runner): A training run's work dir, a config (file or
            loaded), or the runner :func:`fit` returned.
        checkpoint (str): ``'best'`` (default), ``'last'`` or a checkpoint file; the first
            two are looked up in the run's work dir.
        work_dir (str, optional): The work dir of a config's run. Defaults to
            ``work_dirs/<config name>``.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.
        device (str): ``'auto'``, ``'cpu'`` or ``'cuda'``. Defaults to ``'auto'``.
        out_metrics (str, optional): The metrics JSON. Defaults to
            ``<work_dir>/test_metrics.json``.

    Returns:
        dict: The test metrics, plus ``'checkpoint'``: the file that was tested.
    """
    from .runner_setup import build_runner, prepare_test_config, save_test_metrics, work_dir_of

    if isinstance(target, Runner):
        work_dir, target = target.work_dir, getattr(target, 'source_cfg', target.cfg)
    elif isinstance(target, str) and osp.isdir(target):
        work_dir, target = target, _dumped_config(target)
    args = test_parser().parse_args(['config'])
    args.config, args.work_dir = checked_config(target, cfg_options), work_dir
    args.checkpoint = checkpoint
    if checkpoint in ('best', 'last'):
        args.checkpoint = find_checkpoint(work_dir_of(args.config, work_dir), checkpoint)
    args.out_metrics, args.device = out_metrics, device
    select_device(device)
    runner = build_runner(prepare_test_config(args))
    runner.logger.info(f'Testing {args.checkpoint} (checkpoint={checkpoint!r})')
    metrics = runner.test()
    save_test_metrics(runner, metrics, out_metrics)
    return dict(metrics, checkpoint=args.checkpoint)


def _dumped_config(work_dir: str) -> str:
    """The config a Runner wrote into ``work_dir`` (``<config name>.py``)."""
    configs = sorted(p for p in os.listdir(work_dir) if p.endswith('.py'))
    if len(configs) != 1:
        raise ConfigError(
            f'{work_dir}: expected the one config a training run writes there, found '
            f'{len(configs)} .py files; pass the config instead, with work_dir={work_dir!r}'
        )
    return osp.join(work_dir, configs[0])
