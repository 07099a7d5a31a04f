"""The few-shot experiment's exact-probe and exact-LP-FT strategies: their configs."""

from experiments.fewshot import STRATEGIES
from mmengine.config import Config

import mmtl  # noqa: F401


def recipe():
    return Config(
        dict(
            model=dict(type='ImageClassifier', backbone=dict(type='MobileNetV2')),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05)),
            train_cfg=dict(max_epochs=8),
            custom_hooks=[dict(type='EffectiveLrHook')],
        )
    )


def test_exact_probe_freezes_the_backbone_and_solves_the_head_without_epochs():
    cfg = recipe()
    STRATEGIES['exact-probe'](cfg, 'pretrained.pth')
    assert cfg.load_from == 'pretrained.pth'
    assert cfg.model.type == 'TransferClassifier' and cfg.model.frozen_modules == ['backbone']
    # The run's own hooks stay; the strategy's hook is added after them.
    assert [h['type'] for h in cfg.custom_hooks] == ['EffectiveLrHook', 'FeatureCacheHook']
    hook = cfg.custom_hooks[-1]
    assert hook['solve_head'] and hook['stop_after_solve']


def test_exact_lp_ft_is_full_ft_1x_from_the_solved_head():
    cfg, one_lr = recipe(), recipe()
    STRATEGIES['exact-lp-ft'](cfg, 'pretrained.pth')
    STRATEGIES['full-ft-1x'](one_lr, 'pretrained.pth')
    hook = cfg.custom_hooks[-1]
    assert hook == dict(type='FeatureCacheHook', solve_head=True, cache=False)
    cfg.custom_hooks = cfg.custom_hooks[:-1]
    assert cfg.to_dict() == one_lr.to_dict()  # nothing else differs: nothing frozen
