"""Few-shot fine-tuning: the shared warm-up/cosine schedule and full fine-tuning at one lr."""

import pytest
import torch
from experiments.fewshot import STRATEGIES as FEWSHOT_STRATEGIES
from experiments.fewshot import warmup_cosine_schedule
from experiments.transfer_demo import fewshot_config
from mmengine.config import Config

import mmtl  # noqa: F401
from mmtl.advisor.strategies import StrategyContext, overrides
from mmtl.registry import OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS


def lr_per_step(schedule, steps):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer)) for s in schedule]
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


@pytest.mark.parametrize('steps', [4, 30, 200])
def test_schedule_warms_up_to_the_full_lr_then_decays(steps):
    lrs = lr_per_step(warmup_cosine_schedule(steps), steps)
    top = lrs.index(max(lrs))
    assert lrs[top] == pytest.approx(1.0)  # a short run is not stuck at the warm-up's 0.01x
    assert top == (0 if steps < 20 else min(10, steps // 10) - 1)
    assert top == 0 or lrs[0] == pytest.approx(0.01)
    assert all(a < b for a, b in zip(lrs[:top], lrs[1 : top + 1]))
    assert all(a >= b for a, b in zip(lrs[top:], lrs[top + 1 :]))
    assert lrs[-1] < 0.3


@pytest.mark.parametrize('steps', [4, 200])
def test_transfer_demo_runs_the_experiments_schedule(steps):
    cfg = fewshot_config('data/k', 10, steps, 'full-ft', 'pre.pth')
    assert cfg.param_scheduler == warmup_cosine_schedule(steps)


def group_lrs(model, optim_wrapper):
    """The lrs of the parameter groups mmtl's optimizer constructor makes."""
    wrapper_cfg = optim_wrapper.to_dict()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type=wrapper_cfg.pop('constructor'),
            optim_wrapper_cfg=wrapper_cfg,
            paramwise_cfg=wrapper_cfg.pop('paramwise_cfg', None),
        )
    )
    return {round(g['lr'], 9) for g in constructor(model).optimizer.param_groups}


def recipe(strategy):
    cfg = Config(
        dict(
            model=dict(type='ImageClassifier', backbone=dict(type='MobileNetV2')),
            optim_wrapper=dict(
                type='OptimWrapper',
                constructor='TransferOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05),
                paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
            ),
            train_cfg=dict(max_epochs=8),
        )
    )
    FEWSHOT_STRATEGIES[strategy](cfg, 'pretrained.pth')
    return cfg


def test_full_ft_1x_trains_the_backbone_at_the_head_lr_with_the_recipes_decay_rules():
    cfg = recipe('full-ft-1x')
    assert cfg.load_from == 'pretrained.pth'
    model = torch.nn.ModuleDict(dict(backbone=torch.nn.BatchNorm2d(2), head=torch.nn.Linear(2, 2)))
    assert group_lrs(model, cfg.optim_wrapper) == {4e-3}
    assert group_lrs(model, recipe('full-ft').optim_wrapper) == {4e-3, 4e-4}
    # No custom_keys: the backbone's norm and bias parameters keep the recipe's zero decay.
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.0, bias_decay_mult=0.0)


def test_advisor_candidate_full_ft_1x_keeps_the_users_optimizer_but_the_lr():
    ctx = StrategyContext(lr=0.01, adaptive=True, stages=['backbone.conv1'], cut=0, epochs=3)
    changes = overrides('full-ft-1x', ctx)
    assert changes['optim_wrapper'] == {'optimizer': {'lr': pytest.approx(0.01)}}
    assert 'model' not in changes and 'load_from' not in changes
