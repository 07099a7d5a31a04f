"""Model summary: parameter counts, FLOPs against hand formulas, memory estimate, the hook."""

import logging

import pytest
import torch
from mmtl_testing import REPO_ROOT, import_tool, tool_status
from torch import nn

from mmtl.analysis import model_summary as ms
from mmtl.config.access import input_size_from_config, input_size_from_pipeline
from mmtl.config.load import load_config

DIGITS_CONFIG = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'

# Model forward/backward passes run in this process: keep them on one thread.
pytestmark = pytest.mark.usefixtures('one_thread')


def build_digits_model(**backbone):
    from mmtl.apis import init_model

    options = {f'model.backbone.{k}': v for k, v in backbone.items()}
    return init_model(load_config(DIGITS_CONFIG, options))


def test_params_match_the_model_and_freezing_lowers_the_trainable_count():
    model = build_digits_model()
    total, trainable = ms.count_params(model)
    assert total == sum(p.numel() for p in model.parameters())
    assert trainable == total

    frozen = build_digits_model(frozen_stages=2)
    frozen_total, frozen_trainable = ms.count_params(frozen)
    stem_and_two_stages = sum(
        p.numel()
        for name in ('conv1', 'layer1', 'layer2')
        for p in getattr(frozen.backbone, name).parameters()
    )
    assert frozen_total == total
    assert frozen_trainable == total - stem_and_two_stages


@pytest.mark.parametrize('groups', [1, 4])
def test_conv_flops_match_the_hand_formula(groups):
    conv = nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1, groups=groups)
    out_h = out_w = 12  # 24 px, stride 2
    expected = 16 * (8 // groups) * 3 * 3 * out_h * out_w
    assert ms.count_flops(conv, (8, 24, 24)) == expected


def test_linear_flops_match_the_hand_formula():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 7))
    assert ms.count_flops(model, (3, 4, 5)) == 60 * 7


def test_memory_estimate_components_add_up():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))
    param_bytes = sum(p.numel() for p in model.parameters()) * 4
    sgd = ms.estimate_training_memory(model, (3, 4, 4), batch_size=5, optimizer_type='SGD')
    adam = ms.estimate_training_memory(
        model, (3, 4, 4), 5, optimizer=torch.optim.Adam(model.parameters())
    )
    plain = ms.estimate_training_memory(model, (3, 4, 4), 5, optimizer_type='SGD', momentum=0)
    assert sgd.params == sgd.grads == sgd.optimizer_state == param_bytes
    assert adam.optimizer_state == 2 * param_bytes
    assert plain.optimizer_state == 0
    # conv out 4x4x4 (the in-place-free ReLU makes a second one), flatten shares its storage,
    # linear out 2: per image (64 + 64 + 2) floats.
    assert sgd.activations == 5 * (64 + 64 + 2) * 4
    assert sgd.inputs == 5 * 3 * 4 * 4 * 4
    assert sgd.total == (
        sgd.params + sgd.grads + sgd.optimizer_state + sgd.activations + sgd.inputs
    )


def test_frozen_parameters_need_no_grads_state_or_early_activations():
    model = nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 30), nn.Linear(30, 2))
    for p in model[0].parameters():
        p.requires_grad = False
    estimate = ms.estimate_training_memory(model, (10,), 1, optimizer_type='Adam')
    trainable_bytes = (20 * 30 + 30 + 30 * 2 + 2) * 4
    assert estimate.grads == trainable_bytes
    assert estimate.optimizer_state == 2 * trainable_bytes
    # Kept: the input of the first trainable layer (20) and the outputs after it (30, 2).
    assert estimate.activations == (20 + 30 + 2) * 4


def test_real_optimizer_param_groups_decide_the_state():
    model = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 2))
    optimizer = torch.optim.SGD(
        [
            {'params': model[0].parameters(), 'momentum': 0.0},
            {'params': model[1].parameters(), 'momentum': 0.9},
        ],
        lr=0.1,
    )
    estimate = ms.estimate_training_memory(model, (10,), 1, optimizer=optimizer)
    assert estimate.optimizer_state == (10 * 2 + 2) * 4
    with pytest.raises(KeyError, match='LBFGS'):
        ms.estimate_training_memory(
            model, (10,), 1, optimizer=torch.optim.LBFGS(model.parameters())
        )


def test_analysis_leaves_bn_statistics_and_train_mode_untouched():
    model = build_digits_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ms.estimate_training_memory(model, (3, 32, 32), batch_size=4)
    ms.count_flops(model, (3, 32, 32))
    assert model.training and model.backbone.conv1.bn.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_measured_peak_is_at_least_the_parameters():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    measured = ms.measure_training_step(model, (3, 16, 16), 4, optimizer, num_classes=10)
    param_bytes = sum(p.numel() for p in model.parameters()) * 4
    assert measured['device'] == 'cpu'
    assert measured['peak_bytes'] >= param_bytes
    assert optimizer.state  # the step really ran


def test_input_size_comes_from_the_pipeline():
    assert input_size_from_config(load_config(DIGITS_CONFIG)) == (32, 32)
    fruit = load_config(f'{REPO_ROOT}/configs/mobilenet-v2_fruit.py')
    assert input_size_from_config(fruit) == (224, 224)
    pipeline = [dict(type='Resize', scale=(320, 240)), dict(type='PackInputs')]
    assert input_size_from_pipeline(pipeline) == (240, 320)
    # A scoped type names the same transform, as mmengine builds it.
    scoped = [
        dict(type='mmpretrain.ResizeEdge', scale=256),
        dict(type='mmpretrain.CenterCrop', crop_size=224),
    ]
    assert input_size_from_pipeline(scoped) == (224, 224)


class _StubRunner:
    """The parts of a Runner that ModelSummaryHook reads, around a real model and logger."""

    def __init__(self, model, cfg, optimizer=None):
        from types import SimpleNamespace

        self.model = model
        self.cfg = cfg
        self.optim_wrapper = SimpleNamespace(optimizer=optimizer)
        self.logger = logging.getLogger('stub_runner')


def test_hook_logs_params_flops_and_memory_at_the_train_batch(caplog):
    from mmtl.analysis.model_summary_hook import ModelSummaryHook

    cfg = load_config(DIGITS_CONFIG)
    model = build_digits_model(frozen_stages=1)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    total, trainable = ms.count_params(model)
    with caplog.at_level(logging.INFO, logger='stub_runner'):
        ModelSummaryHook().before_train(_StubRunner(model, cfg, optimizer))
    text = caplog.text
    assert f'{total:,} total, {trainable:,} trainable' in text
    flops = ms.count_flops(model, (3, 32, 32))
    assert f'FLOPs at 1x3x32x32: {ms.format_count(flops)}' in text
    assert 'training memory estimate at batch 32' in text  # the config's train batch
    assert 'optimizer state (AdamW)' in text


def test_hook_warns_and_goes_on_when_flops_fail(caplog, monkeypatch):
    from mmtl.analysis.model_summary_hook import ModelSummaryHook

    def broken(*args, **kwargs):
        raise RuntimeError('cannot trace this model')

    monkeypatch.setattr(ms, 'count_flops', broken)
    model = build_digits_model()
    with caplog.at_level(logging.INFO, logger='stub_runner'):
        ModelSummaryHook(input_size=(40, 40), batch_size=3).before_train(
            _StubRunner(model, load_config(DIGITS_CONFIG))
        )
    assert 'FLOPs could not be counted' in caplog.text and 'cannot trace' in caplog.text
    assert 'training memory estimate at batch 3' in caplog.text
    assert 'optimizer state (SGD)' in caplog.text  # no optimizer: SGD with momentum assumed


def test_hook_is_silent_off_rank_zero(caplog, monkeypatch):
    from mmtl.analysis import model_summary_hook

    monkeypatch.setattr(model_summary_hook, 'is_main_process', lambda: False)
    with caplog.at_level(logging.INFO, logger='stub_runner'):
        model_summary_hook.ModelSummaryHook().before_train(
            _StubRunner(build_digits_model(), load_config(DIGITS_CONFIG))
        )
    assert caplog.text == ''


def test_model_summary_tool_prints_table_counts_and_measure(capsys):
    code = tool_status(
        import_tool('tools/analysis_tools/model_summary.py').main,
        [DIGITS_CONFIG, '--batch-size', '4', '--measure']
        + ['--cfg-options', 'model.backbone.frozen_stages=7'],
    )
    out_text, err_text = capsys.readouterr()
    assert code == 0, err_text
    model = build_digits_model(frozen_stages=7)
    total, trainable = ms.count_params(model)
    assert f'parameters: {total:,} total, {trainable:,} trainable' in out_text
    assert 'head.fc' in out_text and 'Linear' in out_text
    assert 'training memory estimate at batch 4' in out_text
    assert 'measured peak of one training step on cpu' in out_text
