"""The lr and momentum a config's parameter schedulers give at every iteration, without
training (built as the Runner builds them, stepped as ``ParamSchedulerHook`` steps them)."""

import copy
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope


@dataclass
class Schedule:
    """Values before each iteration and after the last one (``total_iters + 1``).

    Attributes:
        iters (list[int]): ``0 .. total_iters``.
        lr (list[float]): lr of the first parameter group.
        momentum (list[float] | None): SGD momentum or Adam's beta1; None without either.
        groups (dict[str, list[float]]): The lr of every distinct parameter group, named by
            the parameters it trains (one entry ``'all'`` without a model).
    """

    iters: List[int]
    lr: List[float]
    momentum: Optional[List[float]]
    groups: Dict[str, List[float]]


def _momentum(group: dict) -> Optional[float]:
    if 'betas' in group:
        return float(group['betas'][0])
    return float(group['momentum']) if 'momentum' in group else None


def simulate_schedule(
    cfg: Config, epoch_length: int, lr_scale: float = 1.0, model: Optional[torch.nn.Module] = None
) -> Schedule:
    """Step the config's ``param_scheduler`` over the whole run on a dummy optimizer.

    Args:
        cfg (Config): Config with ``optim_wrapper.optimizer``, ``param_scheduler`` and
            ``train_cfg`` (``max_epochs``, or ``by_epoch=False`` and ``max_iters``).
        epoch_length (int): Iterations per epoch (batches of the train loader).
        lr_scale (float): Factor on the config lr (what ``auto_scale_lr`` would apply).
            Defaults to 1.
        model (nn.Module, optional): The model: its optimizer is built as the Runner builds
            it (``lr_mult``, layer decay: every parameter group), else one parameter.

    Returns:
        Schedule: The lr (and momentum) at every iteration.
    """
    from mmtl.registry import OPTIMIZERS, PARAM_SCHEDULERS

    if epoch_length < 1:
        raise ValueError(f'epoch_length must be at least 1, got {epoch_length}')
    train_cfg = cfg.get('train_cfg') or {}
    by_epoch = train_cfg.get('by_epoch', 'max_epochs' in train_cfg)
    if by_epoch:
        max_epochs = int(train_cfg['max_epochs'])
        total_iters = max_epochs * epoch_length
    else:
        total_iters = int(train_cfg['max_iters'])
        max_epochs = -(-total_iters // epoch_length)
    scope = cfg.get('default_scope', 'mmtl')
    schedulers = []
    with DefaultScope.overwrite_default_scope(scope):
        if model is None:
            optimizer_cfg = copy.deepcopy(cfg.optim_wrapper.optimizer)
            optimizer_cfg['lr'] = optimizer_cfg['lr'] * lr_scale
            optimizer_cfg['params'] = [torch.nn.Parameter(torch.zeros(1))]
            wrapper = OptimWrapper(OPTIMIZERS.build(optimizer_cfg))
        else:
            from mmengine.optim import build_optim_wrapper

            wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
            for group in wrapper.optimizer.param_groups:
                group['lr'] = group['lr'] * lr_scale
        scheduler_cfgs = cfg.get('param_scheduler') or []
        if isinstance(scheduler_cfgs, dict):
            scheduler_cfgs = [scheduler_cfgs]
        for scheduler_cfg in scheduler_cfgs:
            scheduler_cfg = copy.deepcopy(scheduler_cfg)
            scheduler_cfg.setdefault(
                'end', max_epochs if scheduler_cfg.get('by_epoch', True) else total_iters
            )
            schedulers.append(
                PARAM_SCHEDULERS.build(
                    scheduler_cfg, default_args=dict(optimizer=wrapper, epoch_length=epoch_length)
                )
            )
    floor = (cfg.get('default_hooks') or {}).get('warmup_floor')
    if floor:  # WarmupFloorHook lengthens short warm-ups before training: do the same
        from mmtl.engine.hooks.warmup_floor_hook import stretch_warmups

        options = {k: v for k, v in floor.items() if k in ('min_iters', 'max_fraction')}
        stretch_warmups(schedulers, total_iters, **options)
    group = wrapper.optimizer.param_groups[0]
    lrs, momenta = [float(group['lr'])], [_momentum(group)]
    named = _distinct_groups(wrapper.optimizer, model)
    groups = {name: [float(g['lr'])] for name, g in named.items()}
    for it in range(total_iters):
        for scheduler in schedulers:
            if not scheduler.by_epoch:
                scheduler.step()
        if (it + 1) % epoch_length == 0:
            for scheduler in schedulers:
                if scheduler.by_epoch:
                    scheduler.step()
        lrs.append(float(group['lr']))
        momenta.append(_momentum(group))
        for name, g in named.items():
            groups[name].append(float(g['lr']))
    return Schedule(
        iters=list(range(total_iters + 1)),
        lr=lrs,
        momentum=momenta if momenta[0] is not None else None,
        groups=groups,
    )


def _distinct_groups(optimizer, model) -> Dict[str, dict]:
    """One parameter group per distinct initial lr, named by the parameters it trains."""
    if model is None:
        return {'all': optimizer.param_groups[0]}
    from mmtl.engine.hooks.effective_lr_hook import lr_groups

    return {f'{label} (lr {lr})': g for lr, (g, label) in lr_groups(model, optimizer).items()}
