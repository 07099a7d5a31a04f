"""The learning rate as it really is: logged per parameter group, and kept true on resume."""

import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.optim import BaseOptimWrapper, OptimWrapperDict

from mmtl.registry import HOOKS
from mmtl.utils.fileio import atomic_open
from mmtl.utils.modules import bare_model

#: The file :class:`EffectiveLrHook` writes in each run folder (``<work_dir>/<timestamp>``):
#: :func:`peak_lr_groups` at the start of training.
LR_GROUPS_FILE = 'lr_groups.json'


def optim_wrapper_list(optim_wrapper) -> list:
    """The wrappers of an ``OptimWrapper`` or ``OptimWrapperDict``, as a list."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def scheduler_list(runner) -> list:
    """The runner's built parameter schedulers, as a list (those of every optimizer)."""
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values() for s in group]
    return list(schedulers)


def _lr_schedulers(runner) -> list:
    return [s for s in scheduler_list(runner) if getattr(s, 'param_name', None) == 'lr']


def _cosine_value(scheduler, base: float) -> float:
    """The lr of mmengine's CosineAnnealing scheduler at its ``last_step``, in closed form."""
    eta_min = base * scheduler.eta_min_ratio if scheduler.eta_min_ratio else scheduler.eta_min
    step = min(scheduler.last_step, scheduler.T_max)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * step / scheduler.T_max)) / 2


def _params_by_lr(model, optimizer, peak: bool) -> Dict[str, Tuple[dict, List[tuple]]]:
    """The lr (4 significant digits) -> ``(its first group, [(parameter name, parameter)])``,
    in optimizer order; a group without parameters adds nothing."""
    names = {id(p): n for n, p in bare_model(model).named_parameters()}
    by_lr: Dict[str, Tuple[dict, List[tuple]]] = OrderedDict()
    for group in optimizer.param_groups:
        lr = group.get('initial_lr', group['lr']) if peak else group['lr']
        for param in group['params']:
            named = by_lr.setdefault(f'{lr:.4g}', (group, []))[1]
            named.append((names.get(id(param), '?'), param))
    return by_lr


def lr_groups(model, optimizer, peak: bool = False) -> Dict[str, Tuple[dict, str]]:
    """Each distinct lr of ``optimizer``: its first parameter group and the parameters
    that train with it.

    Args:
        model: The model (for parameter names; a DDP wrapper is fine).
        optimizer: A torch optimizer built for ``model``.
        peak (bool): Take each group's lr before the schedulers changed it (its
            ``initial_lr``, what a warm-up rises to) instead of the current one. Defaults to
            False.

    Returns:
        dict[str, tuple[dict, str]]: The lr (4 significant digits) -> ``(first parameter
        group, its parameters)``, e.g. ``'0.004' -> (group, 'head (2 tensors)')``, in
        optimizer order.
    """
    labelled = OrderedDict()
    for lr, (group, params) in _params_by_lr(model, optimizer, peak).items():
        counts: Dict[str, int] = OrderedDict()
        for name, param in params:
            parts = name.split('.')
            prefix = parts[0] if parts[0] != 'backbone' else '.'.join(parts[:2])
            if not param.requires_grad:
                prefix += ' (frozen)'
            counts[prefix] = counts.get(prefix, 0) + 1
        prefixes = _merge_backbone(list(counts))
        shown = ', '.join(prefixes[:4]) + (
            f' +{len(prefixes) - 4} more' if len(prefixes) > 4 else ''
        )
        labelled[lr] = (group, f'{shown} ({sum(counts.values())} tensors)')
    return labelled


def describe_param_groups(model, optimizer, peak: bool = False) -> str:
    """One line: each distinct lr of ``optimizer`` and the parameters that train with it.

    Args:
        model: The model (for parameter names; a DDP wrapper is fine).
        optimizer: A torch optimizer built for ``model``.
        peak (bool): As for :func:`lr_groups`. Defaults to False.

    Returns:
        str: e.g. ``'0.004: head (2 tensors); 0.0004: backbone (156 tensors)'``.
    """
    groups = lr_groups(model, optimizer, peak)
    return '; '.join(f'{lr}: {label}' for lr, (_, label) in groups.items())


def peak_lr_groups(model, optimizer) -> List[dict]:
    """Each distinct peak lr of ``optimizer`` and the top-level modules it trains.

    Args:
        model: The model (a DDP wrapper is fine).
        optimizer: A torch optimizer built for ``model``.

    Returns:
        list[dict]: ``{'lr': float, 'modules': [str]}`` in optimizer order, e.g.
        ``[{'lr': 0.0004, 'modules': ['backbone']}, {'lr': 0.004, 'modules': ['head']}]``.
    """
    return [
        {
            'lr': group.get('initial_lr', group['lr']),
            'modules': list(dict.fromkeys(name.split('.')[0] for name, _ in params)),
        }
        for group, params in _params_by_lr(model, optimizer, peak=True).values()
    ]


def _merge_backbone(prefixes: List[str]) -> List[str]:
    """``backbone.a, backbone.b, ...`` -> ``backbone.{a,b,...}`` for a shorter line."""
    subs = [p.split('.', 1)[1] for p in prefixes if p.startswith('backbone.')]
    others = [p for p in prefixes if not p.startswith('backbone.')]
    if len(subs) <= 1:
        return prefixes
    return [f'backbone.{{{",".join(subs)}}}', *others]


@HOOKS.register_module()
class EffectiveLrHook(Hook):
    """Log the lr every parameter group really trains with; apply config changes on resume.

    At the start of training one line gives each distinct peak lr (after ``auto_scale_lr``,
    ``lr_mult`` and layer decay) with its parameters, and :data:`LR_GROUPS_FILE` in the run
    folder holds them as data; the logged ``lr`` is the largest group's.
    On ``--resume`` the config wins over the restored state, each change logged: a changed
    lr rescales its group, and a moved schedule end (``max_epochs``) stretches
    ``CosineAnnealingLR`` to the new end.
    """

    priority = 'VERY_LOW'

    def before_run(self, runner) -> None:
        """Record what the config built, before a resume overwrites it."""
        if not isinstance(runner.optim_wrapper, BaseOptimWrapper):
            return  # runner.test() / val(): nothing was built for training
        self._initial = [
            [group.get('initial_lr', group['lr']) for group in w.optimizer.param_groups]
            for w in optim_wrapper_list(runner.optim_wrapper)
        ]
        self._ends = [(s.end, getattr(s, 'T_max', None)) for s in scheduler_list(runner)]

    def before_train(self, runner) -> None:
        """Apply lr and schedule-length changes on resume; log the lr per parameter group."""
        if runner.iter > 0:
            self._apply_config_lr(runner)
            self._apply_schedule_end(runner)
        optimizers = [w.optimizer for w in optim_wrapper_list(runner.optim_wrapper)]
        for optimizer in optimizers:
            runner.logger.info(
                f'Effective lr per parameter group (peak, after scaling, lr_mult and layer '
                f'decay): {describe_param_groups(runner.model, optimizer, peak=True)}'
            )
        if is_main_process():
            with atomic_open(osp.join(runner.log_dir, LR_GROUPS_FILE), 'w') as f:
                json.dump([g for o in optimizers for g in peak_lr_groups(runner.model, o)], f)
        first = optimizers[0].param_groups[0]
        peak = first.get('initial_lr', first['lr'])
        if runner.iter == 0 and peak and not math.isclose(first['lr'], peak):
            runner.logger.info(
                f'The lr schedule starts at {first["lr"] / peak:.3g} x the peak (warm-up).'
            )

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Log the largest group lr as ``lr`` (mmengine logs the first group's: the stem's
        under layer decay)."""
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return
        groups = wrapper.optimizer.param_groups
        if len(groups) > 1:
            runner.message_hub.update_scalar('train/lr', max(g['lr'] for g in groups))

    def _apply_config_lr(self, runner) -> None:
        changes = []
        for wrapper, initial in zip(optim_wrapper_list(runner.optim_wrapper), self._initial):
            for index, (group, new) in enumerate(zip(wrapper.optimizer.param_groups, initial)):
                old = group.get('initial_lr', new)
                if math.isclose(old, new, rel_tol=1e-9) or old == 0:
                    continue
                ratio = new / old
                before = group['lr']
                group['lr'] = before * ratio
                group['initial_lr'] = new
                for scheduler in _lr_schedulers(runner):
                    if scheduler.optimizer is wrapper or scheduler.optimizer is wrapper.optimizer:
                        scheduler.base_values[index] = new
                changes.append((index, old, new, before, group['lr']))
        if changes:
            index, old, new, before, after = changes[0]
            runner.logger.warning(
                f'resume: the config sets another lr than the checkpoint; the config wins: '
                f'{len(changes)} parameter group(s), e.g. group {index}: base lr {old:.4g} -> '
                f'{new:.4g}, current lr {before:.4g} -> {after:.4g}.'
            )

    def _apply_schedule_end(self, runner) -> None:
        for scheduler, (end, t_max) in zip(scheduler_list(runner), self._ends):
            if scheduler.end == end:
                continue
            old_end = scheduler.end
            scheduler.end = end
            message = f'resume: {type(scheduler).__name__} ends at step {end} instead of {old_end}'
            if t_max is not None and scheduler.param_name == 'lr':
                scheduler.T_max = t_max
                # mmengine stops counting steps past the end: count them again from begin.
                scheduler.last_step = max(0, scheduler._global_step - scheduler.begin)
                optimizer = getattr(scheduler.optimizer, 'optimizer', scheduler.optimizer)
                before = optimizer.param_groups[0]['lr']
                for group, base in zip(optimizer.param_groups, scheduler.base_values):
                    group['lr'] = _cosine_value(scheduler, base)
                message += (
                    f' (the schedule now ends with train_cfg); the cosine is stretched to the new '
                    f'end: lr {before:.4g} -> {optimizer.param_groups[0]["lr"]:.4g} at iteration '
                    f'{runner.iter}'
                )
            runner.logger.warning(message + '.')
        epoch_length = len(runner.train_dataloader)
        ends = [s.end * epoch_length if s.by_epoch else s.end for s in _lr_schedulers(runner)]
        if ends and runner.max_iters > max(ends):
            runner.logger.warning(
                f'the lr schedules end at iteration {max(ends)} and training runs to '
                f'{runner.max_iters}: the lr stays constant after iteration {max(ends)}.'
            )
