"""Transfer-learning building blocks: frozen modules, transfer head, lr decay, strategy configs."""

import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmtl_testing import REPO_ROOT

from mmtl.config.load import load_config
from mmtl.engine import GradualUnfreezeHook, TransferOptimWrapperConstructor
from mmtl.models import TransferClassifier, TransferClsHead
from mmtl.models.backbone_layout import block_depths
from mmtl.registry import MODELS

CONFIGS = osp.join(REPO_ROOT, 'configs')


def small_resnet(**kwargs) -> TransferClassifier:
    """A ResNet-18 TransferClassifier with a 3-class head."""
    init_default_scope('mmtl')
    return MODELS.build(
        dict(
            type='TransferClassifier',
            backbone=dict(type='ResNet', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=512),
            **kwargs,
        )
    )


def build_optimizer(model, lr=0.1, **paramwise):
    constructor = TransferOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=1e-4)),
        paramwise or None,
    )
    return constructor(model)


def train_steps(model, optim_wrapper, steps=3, size=32):
    """A few real training steps on random images through the model's train_step."""
    from mmpretrain.structures import DataSample

    torch.manual_seed(0)
    model.train()
    for _ in range(steps):
        inputs = torch.rand(4, 3, size, size) * 255
        samples = [DataSample().set_gt_label(int(i % 3)) for i in range(4)]
        model.train_step(dict(inputs=inputs, data_samples=samples), optim_wrapper)


def snapshot(module: torch.nn.Module) -> dict:
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_frozen_backbone_weights_and_bn_stats_bit_identical_after_training():
    model = small_resnet(frozen_modules=['backbone'])
    before = snapshot(model.backbone)
    head_before = snapshot(model.head)
    train_steps(model, build_optimizer(model))
    after = snapshot(model.backbone)
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key  # running_mean/var included
    assert any(not torch.equal(head_before[k], model.head.state_dict()[k]) for k in head_before)


def test_partial_freeze_keeps_stem_bn_statistics_that_frozen_stages_would_update():
    # mmpretrain's frozen_stages leaves the stem BN of MobileNet-v2 in train mode; mmtl does not.
    init_default_scope('mmtl')
    model = MODELS.build(
        dict(
            type='TransferClassifier',
            frozen_modules=['backbone.conv1', 'backbone.layer1'],
            backbone=dict(type='MobileNetV2'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=1280),
        )
    )
    stem = snapshot(model.backbone.conv1)
    layer2 = snapshot(model.backbone.layer2)
    train_steps(model, build_optimizer(model), steps=2)
    for key, value in model.backbone.conv1.state_dict().items():
        assert torch.equal(stem[key], value), key
    changed = [
        k for k, v in model.backbone.layer2.state_dict().items() if not torch.equal(layer2[k], v)
    ]
    assert any('running_mean' in k for k in changed) and any('weight' in k for k in changed)


def test_frozen_modules_stay_in_eval_mode_after_train_call():
    model = small_resnet(frozen_modules=['backbone.layer1'])
    model.train()
    assert not model.backbone.layer1.training
    assert all(not m.training for m in model.backbone.layer1.modules())
    assert model.backbone.layer2.training and model.head.training


def test_linear_probe_trainable_count_is_head_only():
    model = small_resnet(frozen_modules=['backbone'])
    assert count_trainable(model) == 512 * 3 + 3


def test_unknown_frozen_module_names_suggestion():
    with pytest.raises(KeyError, match=r'backbone\.layer1'):
        small_resnet(frozen_modules=['backbone.layr1'])


def test_unfreeze_releases_parameters_and_refreezes_nested_ones():
    model = small_resnet(frozen_modules=['backbone.layer1', 'backbone.layer2'])
    frozen_count = sum(p.numel() for p in model.backbone.layer2.parameters())
    released = model.unfreeze(['backbone.layer2'])
    assert sum(p.numel() for p in released) == frozen_count
    assert model.frozen_modules == ['backbone.layer1']
    assert all(p.requires_grad for p in model.backbone.layer2.parameters())
    assert not any(p.requires_grad for p in model.backbone.layer1.parameters())
    with pytest.raises(ValueError, match='not frozen'):
        model.unfreeze(['backbone.layer3'])
    # Unfreezing a parent releases the frozen children inside it.
    model.unfreeze(['backbone'])
    assert model.frozen_modules == [] and count_trainable(model) == sum(
        p.numel() for p in model.parameters()
    )


def test_constructor_keeps_frozen_parameters_in_the_optimizer_with_paramwise_cfg():
    model = small_resnet(frozen_modules=['backbone'])
    optim = build_optimizer(model, custom_keys={'head': dict(lr_mult=2.0)})
    in_optimizer = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert in_optimizer == {id(p) for p in model.parameters()}
    assert not any(p.requires_grad for p in model.backbone.parameters())  # restored


def test_layer_decay_scales_backbone_blocks_geometrically():
    model = small_resnet()
    depths = block_depths(model.backbone)
    assert depths == {'conv1': 0, 'bn1': 0, 'layer1': 1, 'layer2': 2, 'layer3': 3, 'layer4': 4}
    optim = build_optimizer(model, lr=0.1, layer_decay_rate=0.5)
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim.optimizer.param_groups:
        name = names[id(group['params'][0])]
        part = name.split('.')[1]
        expected = 0.1 * 0.5 ** (5 - depths[part]) if name.startswith('backbone') else 0.1
        assert group['lr'] == pytest.approx(expected), name


def test_layer_decay_rate_out_of_range_names_the_key():
    with pytest.raises(ValueError, match='layer_decay_rate=1.5'):
        TransferOptimWrapperConstructor(
            dict(optimizer=dict(type='SGD', lr=0.1)), dict(layer_decay_rate=1.5)
        )


def test_transfer_head_replace_mode_with_hidden_layers():
    head = TransferClsHead(num_classes=4, in_channels=16, hidden_channels=[8, 6], dropout=0.5)
    head.eval()
    feats = (torch.randn(2, 16),)
    assert head(feats).shape == (2, 4)
    assert head.pre_logits(feats).shape == (2, 6)
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 8), (8, 6), (6, 4)]
    assert head.classifier is head.fc


def test_transfer_head_stacks_on_pretrained_classifier_loaded_from_checkpoint():
    head = TransferClsHead(num_classes=3, in_channels=16, source_classes=10)
    pretrained = torch.nn.Linear(16, 10)
    missing, unexpected = head.load_state_dict(
        {'fc.weight': pretrained.weight, 'fc.bias': pretrained.bias}, strict=False
    )
    assert set(missing) == {'new_fc.weight', 'new_fc.bias'} and not unexpected
    head.eval()
    x = torch.randn(5, 16)
    expected = head.new_fc(pretrained(x))
    assert torch.allclose(head((x,)), expected)


@pytest.mark.parametrize(
    'kwargs', [dict(num_classes=0), dict(dropout=1.0), dict(hidden_channels=[0])]
)
def test_transfer_head_rejects_bad_arguments_naming_them(kwargs):
    args = dict(num_classes=3, in_channels=8)
    args.update(kwargs)
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        TransferClsHead(**args)


def stub_runner(model, optim_wrapper, epoch):
    return SimpleNamespace(
        model=model,
        optim_wrapper=optim_wrapper,
        epoch=epoch,
        logger=MMLogger.get_current_instance(),
    )


def test_gradual_unfreeze_hook_follows_schedule_and_reapplies_on_resume(caplog):
    schedule = [
        dict(epoch=2, modules=['backbone.layer4']),
        dict(epoch=4, modules=['backbone']),
    ]
    model = small_resnet(frozen_modules=['backbone'])
    hook = GradualUnfreezeHook(schedule)
    runner = stub_runner(model, build_optimizer(model), epoch=0)
    hook.before_train(runner)
    hook.before_train_epoch(runner)  # epoch 1: nothing yet
    assert count_trainable(model) == 512 * 3 + 3
    runner.epoch = 1
    hook.before_train_epoch(runner)  # epoch 2
    layer4 = sum(p.numel() for p in model.backbone.layer4.parameters())
    assert count_trainable(model) == 512 * 3 + 3 + layer4
    assert all(p.requires_grad for p in model.backbone.layer4.parameters())

    # Resuming at epoch 5 re-applies both steps at once.
    resumed = small_resnet(frozen_modules=['backbone'])
    hook = GradualUnfreezeHook(schedule)
    hook.before_train(stub_runner(resumed, build_optimizer(resumed), epoch=4))
    assert resumed.frozen_modules == []


def test_gradual_unfreeze_hook_needs_frozen_params_in_optimizer():
    from mmengine.optim import DefaultOptimWrapperConstructor

    model = small_resnet(frozen_modules=['backbone'])
    stock = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1)), dict(custom_keys={})
    )
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    hook = GradualUnfreezeHook([dict(epoch=2, modules=['backbone'])])
    with pytest.raises(ValueError, match='TransferOptimWrapperConstructor'):
        hook.before_train(stub_runner(model, stock(model), epoch=0))


def test_gradual_unfreeze_hook_rejects_malformed_steps():
    with pytest.raises(ValueError, match='epoch'):
        GradualUnfreezeHook([dict(epoch=0, modules=['backbone'])])


STRATEGIES = ['linear-probe', 'partial-ft', 'full-ft', 'llrd', 'scratch']


def build_from_config(name: str):
    cfg = load_config(osp.join(CONFIGS, name))
    init_default_scope('mmtl')
    model = MODELS.build(cfg.model)
    return cfg, model


@pytest.mark.parametrize('arch,feat', [('mobilenet-v2', 1280), ('resnet50', 2048)])
@pytest.mark.parametrize('strategy', STRATEGIES)
def test_strategy_configs_train_what_they_say(arch, feat, strategy):
    cfg, model = build_from_config(f'{arch}_{strategy}_fruit.py')
    total = sum(p.numel() for p in model.parameters())
    head = feat * 30 + 30
    trainable = count_trainable(model)
    if strategy == 'linear-probe':
        assert trainable == head
    elif strategy == 'partial-ft':
        frozen = sum(
            p.numel()
            for name in model.frozen_modules
            for p in model.get_submodule(name).parameters()
        )
        assert 0 < frozen < total - head and trainable == total - frozen
        assert not any(p.requires_grad for p in model.backbone.conv1.parameters())
    else:
        assert trainable == total
    assert (cfg.load_from is None) == (strategy == 'scratch')
    optim = build_optim_wrapper(model, cfg.optim_wrapper)  # the Runner's own path
    assert isinstance(optim.optimizer, torch.optim.SGD)
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(g['params'][0])]: g['lr'] for g in optim.optimizer.param_groups}
    if strategy == 'full-ft':
        assert lrs[
            'backbone.conv1.conv.weight' if arch == 'mobilenet-v2' else 'backbone.conv1.weight'
        ] == pytest.approx(0.005)
        assert lrs['head.fc.weight'] == pytest.approx(0.05)
    if strategy == 'llrd':
        backbone_lrs = [lr for n, lr in lrs.items() if n.startswith('backbone')]
        assert max(backbone_lrs) == pytest.approx(0.05 * 0.7)
        assert lrs['head.fc.weight'] == pytest.approx(0.05)


def test_gradual_unfreeze_config_names_existing_modules():
    cfg, model = build_from_config('mobilenet-v2_gradual-unfreeze_fruit.py')
    hook_cfg = [h for h in cfg.custom_hooks if h['type'] == 'GradualUnfreezeHook'][0]
    for step in hook_cfg['schedule']:
        for name in step['modules']:
            model.get_submodule(name)
    assert count_trainable(model) == 1280 * 30 + 30


def test_early_stopping_is_a_default_hook_and_can_be_switched_off(tmp_path):
    cfg = load_config(osp.join(CONFIGS, 'mobilenet-v2_fruit.py'))
    assert cfg.default_hooks.early_stopping.monitor == 'accuracy/top1'
    off = load_config(
        osp.join(CONFIGS, 'mobilenet-v2_fruit.py'), {'default_hooks.early_stopping': None}
    )
    assert 'early_stopping' not in off.default_hooks
    assert 'checkpoint' in off.default_hooks


def test_mlp_head_config_builds_hidden_layer():
    _, model = build_from_config('mobilenet-v2_mlp-head_fruit.py')
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(1280, 512), (512, 30)]
    assert model.head(model.neck(model.backbone(torch.rand(2, 3, 64, 64)))).shape == (2, 30)


def test_stacked_head_config_keeps_imagenet_classifier_frozen_and_loadable():
    _, model = build_from_config('mobilenet-v2_stacked-head_fruit.py')
    assert model.head.fc.weight.shape == (1000, 1280)  # same key and shape as the checkpoint
    assert count_trainable(model) == 1000 * 30 + 30
