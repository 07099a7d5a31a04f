"""The strategy table: its fragments, the fruit configs, the few-shot experiment and the advisor."""

import copy
import functools
import glob
import os.path as osp

import pytest
import torch
from experiments.fewshot import ARCH, LINEAR_PROBE_LR
from experiments.fewshot import STRATEGIES as FEWSHOT_STRATEGIES
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmtl.advisor.strategies import ADVISED, StrategyContext, lr_range, overrides
from mmtl.config.load import load_config
from mmtl.config.strategies import (
    STRATEGIES,
    apply_strategy,
    fragment_name,
    load_strategy,
    strategy_fragment_path,
)
from mmtl.registry import HOOKS, MODELS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
#: Every ``<family>_<strategy>_fruit.py`` config: a family config with one strategy applied.
VARIANTS = sorted(
    osp.basename(path)
    for name in STRATEGIES
    for path in glob.glob(osp.join(CONFIGS, f'*_{name}_fruit.py'))
)


@functools.cache
def family_config(family):
    return Config.fromfile(osp.join(CONFIGS, f'{family}_fruit.py')).to_dict()


def variant_parts(config):
    """``mobilenet-v2_partial-ft_fruit.py`` -> ``('mobilenet-v2', 'partial-ft')``."""
    family, _, strategy = config[: -len('_fruit.py')].rpartition('_')
    return family, strategy


def arch_of(family):
    return family.replace('-', '_')


def leaves(tree, prefix=''):
    """Dotted key -> value of every leaf of a nested dict (lists are leaves)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(leaves(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def lookup(tree, dotted):
    for part in dotted.split('.'):
        tree = tree[part]
    return tree.to_dict() if hasattr(tree, 'to_dict') else tree


def recipe():
    return Config(
        dict(
            model=dict(type='ImageClassifier', backbone=dict(type='MobileNetV2')),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05)),
            load_from='x.pth',
            train_cfg=dict(max_epochs=8),
        )
    )


def test_every_strategy_variant_config_is_found():
    strategies = {variant_parts(v)[1] for v in VARIANTS}
    assert {'linear-probe', 'partial-ft', 'full-ft', 'llrd', 'scratch'} <= strategies
    assert {'gradual-unfreeze', 'mlp-head', 'stacked-head'} <= strategies
    assert len(VARIANTS) >= 40


@pytest.mark.parametrize('config', VARIANTS)
def test_fruit_configs_set_exactly_their_fragments_keys(config):
    """A variant config is its family config with the fragment's keys, written out plainly."""
    family, strategy = variant_parts(config)
    text = open(osp.join(CONFIGS, config)).read()
    assert '{{' not in text and f"_base_ = ['{family}_fruit.py']" in text
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    fragment = load_strategy(strategy, arch_of(family))
    hooks = fragment.pop('custom_hooks', [])
    for key, value in leaves(fragment).items():
        assert lookup(cfg, key) == value, key
    assert [h.to_dict() for h in cfg.custom_hooks[len(cfg.custom_hooks) - len(hooks) :]] == hooks
    # The family config with the strategy applied by code is the same config, strategy-wise.
    applied = Config(copy.deepcopy(family_config(family)))
    apply_strategy(applied, strategy, arch_of(family))
    for key in ('model', 'load_from', 'custom_hooks', 'optim_wrapper.paramwise_cfg'):
        try:
            expected = lookup(applied, key)
        except KeyError:
            continue
        assert lookup(cfg, key) == expected, key


def frozen_flags(model):
    """Names of the parameters that get no gradient."""
    return {n for n, p in model.named_parameters() if not p.requires_grad}


def has_fragment(name, arch):
    try:
        return bool(strategy_fragment_path(name, arch))
    except KeyError:
        return False


#: Every strategy of the table on MobileNet-v2, the per-architecture ones on ResNet-50 too.
APPLIED = [('mobilenet-v2', name) for name in STRATEGIES] + [
    ('resnet50', name)
    for name, strategy in STRATEGIES.items()
    if strategy.per_arch and has_fragment(name, 'resnet50')
]


@pytest.mark.parametrize('family,strategy', APPLIED)
def test_every_strategy_applies_to_a_config_that_then_builds(family, strategy):
    cfg = load_config(osp.join(CONFIGS, f'{family}_fruit.py'))
    apply_strategy(cfg, strategy, arch_of(family))
    init_default_scope('mmtl')
    model = MODELS.build(cfg.model)
    model.train()
    frozen = list(cfg.model.get('frozen_modules', []))
    for name in frozen:
        module = model.get_submodule(name)
        assert not any(p.requires_grad for p in module.parameters()), name
        assert not module.training, name  # BatchNorm statistics stay as pretrained
    if not frozen:
        assert not frozen_flags(model)
    for hook in cfg.custom_hooks:
        HOOKS.build(hook.to_dict())
        for step in hook.get('schedule', []):
            for name in step['modules']:
                model.get_submodule(name)
    assert (cfg.load_from is None) == (strategy == 'scratch')
    with torch.no_grad():
        model.eval()
        assert model(torch.rand(1, 3, 64, 64), mode='tensor').shape == (1, 30)


def test_partial_ft_fragments_are_per_architecture():
    mobilenet = load_strategy('partial-ft', 'mobilenet_v2')['model']['frozen_modules']
    resnet = load_strategy('partial-ft', 'resnet50')['model']['frozen_modules']
    assert mobilenet != resnet and 'backbone.bn1' in resnet
    with pytest.raises(KeyError, match='partial_ft_vgg16.py'):
        strategy_fragment_path('partial-ft', 'vgg16')
    # A strategy that is the same for every architecture has one fragment.
    assert strategy_fragment_path('full-ft', 'vgg16').endswith('strategies/full_ft.py')
    with pytest.raises(KeyError, match="unknown strategy 'fine-tune'"):
        strategy_fragment_path('fine-tune')


def test_a_fragment_is_plain_config_keys():
    """A fragment holds the keys a config sets (no wrapper to destructure)."""
    assert load_strategy('linear-probe') == {
        'model': {'type': 'TransferClassifier', 'frozen_modules': ['backbone']}
    }
    assert load_strategy('scratch') == {'load_from': None}
    assert load_strategy('full-ft-1x') == {}
    for path in glob.glob(osp.join(CONFIGS, '_base_', 'strategies', '*.py')):
        keys = set(Config.fromfile(path).to_dict())
        assert keys <= {'model', 'optim_wrapper', 'load_from', 'custom_hooks'}, path


def test_applying_adds_the_fragments_hooks_after_the_configs_own():
    cfg = recipe()
    cfg.custom_hooks = [dict(type='EffectiveLrHook')]
    apply_strategy(cfg, 'gradual-unfreeze', 'mobilenet_v2')
    assert [h['type'] for h in cfg.custom_hooks] == ['EffectiveLrHook', 'GradualUnfreezeHook']
    assert cfg.model.backbone.type == 'MobileNetV2'  # dicts merge key by key
    assert cfg.load_from == 'x.pth'


@pytest.mark.parametrize('strategy', ['linear-probe', 'partial-ft', 'full-ft', 'scratch'])
def test_fewshot_experiment_sets_the_mobilenet_fruit_configs_strategy_keys(strategy):
    fruit = Config.fromfile(osp.join(CONFIGS, f'mobilenet-v2_{strategy}_fruit.py'))
    cfg = recipe()
    FEWSHOT_STRATEGIES[strategy](cfg, 'pretrained.pth')
    for key in leaves(load_strategy(strategy, ARCH)):
        assert lookup(cfg, key) == lookup(fruit, key), key
    assert cfg.load_from == (None if strategy == 'scratch' else 'pretrained.pth')


def test_fewshot_linear_probe_keeps_the_lr_its_table_was_measured_with():
    cfg = recipe()
    FEWSHOT_STRATEGIES['linear-probe'](cfg, 'pretrained.pth')
    assert cfg.optim_wrapper.optimizer.lr == LINEAR_PROBE_LR == 1e-2
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05  # the recipe's, as measured
    fruit = Config.fromfile(osp.join(CONFIGS, 'mobilenet-v2_linear-probe_fruit.py'))
    assert fruit.optim_wrapper.optimizer.lr == pytest.approx(0.1)


@pytest.mark.parametrize('strategy', ['linear-probe', 'full-ft', 'full-ft-1x', 'scratch'])
def test_advisor_overrides_carry_the_fragment(strategy):
    ctx = StrategyContext(lr=0.01, adaptive=False, stages=['backbone.conv1'], cut=0, epochs=3)
    changes = Config(overrides(strategy, ctx))
    for key, value in leaves(load_strategy(strategy)).items():
        assert lookup(changes, key) == value, key


#: What the few-shot recipe changes on top of a strategy (its own measured values).
FEWSHOT_OWN = {'linear-probe': {'optim_wrapper.optimizer.lr'}, 'lp-ft': {'custom_hooks'}}


@pytest.mark.parametrize('strategy', sorted(FEWSHOT_STRATEGIES))
def test_fewshot_strategies_are_the_tables(strategy):
    """Fails if the experiment's strategies and mmtl's table diverge."""
    assert strategy in STRATEGIES
    ran, applied = recipe(), recipe()
    FEWSHOT_STRATEGIES[strategy](ran, 'pretrained.pth')
    applied.load_from = 'pretrained.pth'
    apply_strategy(applied, strategy, ARCH)
    differ = {
        key
        for key in set(leaves(ran.to_dict())) | set(leaves(applied.to_dict()))
        if leaves(ran.to_dict()).get(key) != leaves(applied.to_dict()).get(key)
    }
    assert differ == FEWSHOT_OWN.get(strategy, set())


def test_advisor_strategies_are_the_tables():
    """Fails if the advisor's strategies and mmtl's table diverge."""
    ctx = StrategyContext(lr=0.01, adaptive=False, stages=['backbone.conv1'], cut=0, epochs=3)
    for name in ADVISED:
        low, mid, high = lr_range(name, ctx)
        assert (low, mid, high) == pytest.approx([0.01 * f for f in STRATEGIES[name].lr_factors])
        assert osp.isfile(osp.join(CONFIGS, fragment_name(name, 'resnet50')))


def test_a_user_config_takes_a_strategy_by_writing_its_fragments_keys(tmp_path):
    """The docs' way: the family config in ``_base_``, the fragment's keys written out."""
    user = tmp_path / 'my_probe.py'
    keys = load_strategy('linear-probe')
    user.write_text(f"_base_ = ['mmtl::mobilenet-v2_fruit.py']\nmodel = {keys['model']!r}\n")
    cfg = load_config(str(user))
    init_default_scope('mmtl')
    model = MODELS.build(cfg.model)
    assert frozen_flags(model) == {n for n, _ in model.backbone.named_parameters(prefix='backbone')}
