"""The strategy fragments: the fruit configs, the few-shot experiment and the advisor agree."""

import os.path as osp

import pytest
from mmengine.config import Config

from mmtl.advisor.strategies import STRATEGIES as ADVISOR_STRATEGIES
from mmtl.advisor.strategies import StrategyContext
from mmtl.experiments.fewshot import LINEAR_PROBE_LR
from mmtl.experiments.fewshot import STRATEGIES as FEWSHOT_STRATEGIES
from mmtl.utils.strategies import load_strategy, strategy_fragment_path

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
ARCHS = {'mobilenet-v2': 'mobilenet_v2', 'resnet50': 'resnet50'}
#: Strategy -> the config keys it sets (dotted).
KEYS = {
    'linear-probe': ['model.type', 'model.frozen_modules'],
    'partial-ft': ['model.type', 'model.frozen_modules'],
    'full-ft': ['optim_wrapper.paramwise_cfg'],
    'llrd': ['optim_wrapper.paramwise_cfg'],
    'scratch': ['load_from'],
}


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


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('strategy', KEYS)
def test_fruit_configs_take_their_strategy_keys_from_the_fragment(arch, strategy):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{arch}_{strategy}_fruit.py'))
    fragment = Config(load_strategy(strategy, ARCHS[arch]))
    assert cfg.strategy.name == strategy
    for key in KEYS[strategy]:
        assert lookup(cfg, key) == lookup(fragment, key), key


def test_partial_ft_fragments_are_per_architecture():
    mobilenet = load_strategy('partial-ft', 'mobilenet_v2')['model']['frozen_modules']
    resnet = load_strategy('partial-ft', 'resnet50')['model']['frozen_modules']
    assert mobilenet != resnet and 'backbone.bn1' in resnet
    with pytest.raises(KeyError, match='partial_ft_vgg16.py'):
        strategy_fragment_path('partial-ft', 'vgg16')
    # A strategy that is the same for every architecture has one fragment.
    assert strategy_fragment_path('full-ft', 'vgg16').endswith('strategies/full_ft.py')


@pytest.mark.parametrize('strategy', ['linear-probe', 'partial-ft', 'full-ft', 'scratch'])
def test_fewshot_experiment_sets_the_mobilenet_fruit_configs_strategy_keys(strategy):
    fruit = Config.fromfile(osp.join(CONFIGS, f'mobilenet-v2_{strategy}_fruit.py'))
    cfg = recipe()
    FEWSHOT_STRATEGIES[strategy](cfg, 'pretrained.pth')
    for key in KEYS[strategy]:
        assert lookup(cfg, key) == lookup(fruit, key), key
    assert cfg.load_from == (None if strategy == 'scratch' else 'pretrained.pth')


def test_fewshot_linear_probe_keeps_the_lr_its_table_was_measured_with():
    cfg = recipe()
    FEWSHOT_STRATEGIES['linear-probe'](cfg, 'pretrained.pth')
    assert cfg.optim_wrapper.optimizer.lr == LINEAR_PROBE_LR == 1e-2
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05  # the recipe's, as measured
    fruit = Config.fromfile(osp.join(CONFIGS, 'mobilenet-v2_linear-probe_fruit.py'))
    assert fruit.optim_wrapper.optimizer.lr == pytest.approx(0.1)


@pytest.mark.parametrize('strategy', ['linear-probe', 'full-ft', 'scratch'])
def test_advisor_overrides_carry_the_fragment(strategy):
    ctx = StrategyContext(lr=0.01, adaptive=False, stages=['backbone.conv1'], cut=0, epochs=3)
    changes = Config(ADVISOR_STRATEGIES[strategy].overrides(ctx))
    fragment = Config(load_strategy(strategy))
    for key in KEYS[strategy]:
        assert lookup(changes, key) == lookup(fragment, key), key
