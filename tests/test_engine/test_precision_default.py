"""The default training precision per device (#19), and --compile / --channels-last (#16)."""

import os.path as osp
import textwrap

import pytest
import torch

import mmtl.apis.runner_setup as runner_module
import mmtl.utils.precision as precision_module
from mmtl.apis.runner_setup import build_runner, prepare_train_config
from mmtl.utils.errors import ConfigError
from mmtl.utils.run_args import train_parser

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
X86_BF16 = 'avx512_bf16 amx_bf16'
X86_PLAIN = ''


@pytest.fixture(scope='module')
def config_file(tmp_path_factory) -> str:
    """The digits config for 3 classes, no workers, one epoch."""
    path = tmp_path_factory.mktemp('config') / 'digits3.py'
    base = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    path.write_text(
        textwrap.dedent(
            f"""
            _base_ = [{base!r}]
            model = dict(head=dict(num_classes=3))
            # The digits config names its wrapper (fp32 on purpose); here the schedule's own
            # form, as in the base schedules: no type, so the default precision applies.
            optim_wrapper = dict(
                _delete_=True,
                constructor='TransferOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05),
            )
            val_cfg = dict(_delete_=True)  # as in the base schedules: precision unset
            test_cfg = dict(_delete_=True)
            train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
            val_dataloader = dict(num_workers=0, persistent_workers=False)
            test_dataloader = dict(num_workers=0, persistent_workers=False)
            train_cfg = dict(max_epochs=1)
            randomness = dict(seed=0, deterministic=False)
            default_hooks = dict(logger=dict(interval=1), model_summary=None)
            """
        )
    )
    return str(path)


@pytest.fixture
def cpu_with(monkeypatch):
    """Make the CPU report these bfloat16 features (torch's CPU checks), no GPU."""

    def set_flags(flags: str):
        monkeypatch.setattr(precision_module, 'cpu_bf16_features', lambda: frozenset(flags.split()))
        monkeypatch.setattr(precision_module, 'cpu_name', lambda: 'Test CPU 9000')
        monkeypatch.setattr(runner_module, 'uses_cuda', lambda: False)

    return set_flags


@pytest.fixture
def log_lines(monkeypatch):
    """Messages passed to mmengine's print_log (runner_setup's name for it too)."""
    import mmengine.logging

    lines = []
    original = mmengine.logging.print_log

    def record(msg, *args, **kwargs):
        lines.append(str(msg))
        return original(msg, *args, **kwargs)

    for owner in (mmengine.logging, runner_module):
        monkeypatch.setattr(owner, 'print_log', record)
    return lines


def parse_train(config: str, *flags: str):
    return train_parser().parse_args([config, *flags])


def test_cpu_bf16_features_follow_torchs_cpu_checks(monkeypatch):
    import torch.cpu

    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: True)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False)
    assert precision_module.cpu_bf16_features() == {'avx512_bf16'}
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: False)
    assert precision_module.cpu_bf16_features() == frozenset()


def test_cpu_without_native_bf16_falls_back_to_fp32_with_a_log_line(
    config_file, cpu_with, log_lines
):
    cpu_with(X86_PLAIN)
    cfg = prepare_train_config(parse_train(config_file))
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    [line] = [m for m in log_lines if m.startswith('precision:')]
    assert 'float32 by default' in line
    assert 'Test CPU 9000 has no native bfloat16' in line


def test_cpu_with_native_bf16_trains_in_bf16_autocast_by_default(config_file, cpu_with, log_lines):
    cpu_with(X86_BF16)
    cfg = prepare_train_config(parse_train(config_file))
    assert cfg.optim_wrapper.type == 'BF16AutocastOptimWrapper'
    assert cfg.optim_wrapper.device_type == 'cpu'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'  # the config's optimizer is kept
    [line] = [m for m in log_lines if m.startswith('precision:')]
    assert 'bfloat16 autocast by default' in line
    assert 'avx512_bf16' in line and '--amp none' in line


def test_amp_none_keeps_fp32_on_a_bf16_cpu(config_file, cpu_with, log_lines):
    cpu_with(X86_BF16)
    cfg = prepare_train_config(parse_train(config_file, '--amp', 'none'))
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'device_type' not in cfg.optim_wrapper
    assert any(m == 'precision: float32 (--amp none)' for m in log_lines)


def test_amp_none_switches_off_a_configured_bf16_wrapper(config_file, cpu_with):
    cpu_with(X86_BF16)
    args = parse_train(
        config_file, '--amp', 'none', '--cfg-options', 'optim_wrapper.type=BF16AutocastOptimWrapper'
    )
    assert prepare_train_config(args).optim_wrapper.type == 'OptimWrapper'


def test_explicit_amp_auto_follows_the_detection(config_file, cpu_with):
    cpu_with(X86_PLAIN)
    assert prepare_train_config(parse_train(config_file, '--amp')).optim_wrapper.type == (
        'OptimWrapper'
    )
    cpu_with(X86_BF16)
    assert prepare_train_config(parse_train(config_file, '--amp')).optim_wrapper.type == (
        'BF16AutocastOptimWrapper'
    )


def test_bf16_forced_on_a_cpu_without_native_bf16(config_file, cpu_with):
    cpu_with(X86_PLAIN)
    cfg = prepare_train_config(parse_train(config_file, '--amp', 'bf16'))
    assert cfg.optim_wrapper.type == 'BF16AutocastOptimWrapper'


def test_a_config_that_sets_its_wrapper_type_keeps_it(config_file, cpu_with, log_lines):
    cpu_with(X86_PLAIN)  # default would be fp32, the config asks for bf16
    args = parse_train(config_file, '--cfg-options', 'optim_wrapper.type=BF16AutocastOptimWrapper')
    assert prepare_train_config(args).optim_wrapper.type == 'BF16AutocastOptimWrapper'
    assert any('as the config sets it' in m for m in log_lines)
    cpu_with(X86_BF16)  # default would be bf16, the config names the fp32 wrapper
    args = parse_train(config_file, '--cfg-options', 'optim_wrapper.type=OptimWrapper')
    assert prepare_train_config(args).optim_wrapper.type == 'OptimWrapper'


def test_digits_demo_config_stays_fp32_on_a_bf16_cpu(cpu_with):
    cpu_with(X86_BF16)
    digits = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    assert prepare_train_config(parse_train(digits)).optim_wrapper.type == 'OptimWrapper'


def test_unknown_wrapper_type_is_not_switched_by_the_default(config_file, cpu_with):
    from mmengine.config import Config

    cpu_with(X86_BF16)
    cfg = Config(dict(optim_wrapper=dict(type='MyWrapper', optimizer=dict(type='SGD', lr=0.1))))
    runner_module.apply_training_precision(cfg, None)
    assert cfg.optim_wrapper.type == 'MyWrapper'
    with pytest.raises(ConfigError, match="optim_wrapper.type is 'MyWrapper'"):
        runner_module.apply_training_precision(cfg, 'bf16')


@pytest.mark.parametrize('bf16, dtype', [(True, 'bfloat16'), (False, 'float16')])
def test_gpu_default_is_bf16_where_supported_else_fp16(config_file, monkeypatch, bf16, dtype):
    monkeypatch.setattr(runner_module, 'uses_cuda', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *a: 'Test GPU')
    cfg = prepare_train_config(parse_train(config_file))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == dtype
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_default_bf16_training_runs_bf16_forwards(config_file, digits_root, cpu_with, tmp_path):
    from mmtl.engine import BF16AutocastOptimWrapper

    cpu_with(X86_BF16)
    runner = build_runner(
        prepare_train_config(one_iteration_args(config_file, digits_root, tmp_path))
    )
    dtypes = []
    runner.model.backbone.conv1.conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    runner.train()
    assert type(runner.optim_wrapper) is BF16AutocastOptimWrapper
    assert dtypes == [torch.bfloat16]


# ----------------------------------------------------------------------------------------
# --channels-last and --compile
# ----------------------------------------------------------------------------------------
def one_iteration_args(config: str, data_root: str, work_dir, *flags: str):
    options = [f for f in flags if '=' in f]  # KEY=VALUE flags go to --cfg-options
    return parse_train(
        config,
        '--work-dir',
        str(work_dir),
        '--no-validate',
        *[f for f in flags if '=' not in f],
        '--cfg-options',
        f'data_root={data_root}',
        'train_dataloader.dataset.indices=4',
        *options,
    )


def train_one_iteration(config, data_root, work_dir, *flags):
    runner = build_runner(
        prepare_train_config(one_iteration_args(config, data_root, work_dir, *flags))
    )
    runner.train()
    return runner, runner.message_hub.get_scalar('train/loss').current()


def test_channels_last_puts_conv_weights_in_channels_last(config_file, digits_root, tmp_path):
    runner, loss = train_one_iteration(
        config_file, digits_root, tmp_path, '--amp', 'none', '--channels-last'
    )
    convs = [m for m in runner.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) > 10
    # 1x1 and depthwise weights are contiguous both ways; the 3x3 ones tell the formats apart.
    full = [m.weight for m in convs if m.weight.shape[1] > 1 and m.weight.shape[-1] > 1]
    assert full and all(w.is_contiguous(memory_format=torch.channels_last) for w in full)
    assert not all(w.is_contiguous() for w in full)
    assert torch.isfinite(torch.tensor(loss))


def test_without_channels_last_weights_stay_contiguous(config_file, digits_root, tmp_path):
    runner, _ = train_one_iteration(config_file, digits_root, tmp_path, '--amp', 'none')
    convs = [m for m in runner.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(m.weight.is_contiguous() for m in convs)


def test_compile_and_channels_last_flags_set_the_config(config_file):
    cfg = prepare_train_config(parse_train(config_file, '--compile', '--channels-last'))
    assert cfg.compile is True
    assert [h for h in cfg.custom_hooks if h['type'] == 'ChannelsLastHook'] == [
        dict(type='ChannelsLastHook')
    ]
    assert 'compile' not in prepare_train_config(parse_train(config_file))
    args = parse_train(config_file, '--compile', '--cfg-options', 'compile.mode=max-autotune')
    assert prepare_train_config(args).compile == dict(mode='max-autotune')


@pytest.mark.slow
def test_compiled_training_step_gives_the_eager_loss(config_file, digits_root, tmp_path):
    # aot_eager: dynamo's graph capture and AOT autograd of train_step without inductor's C++
    # code generation, which takes over 15 min on 2 busy cores (the config's compile dict is
    # kept by --compile; --compile alone is cfg.compile=True, inductor).
    _, eager = train_one_iteration(config_file, digits_root, tmp_path / 'eager', '--amp', 'none')
    runner, compiled = train_one_iteration(
        config_file, digits_root, tmp_path / 'compiled', '--amp', 'none', '--compile',
        'compile.backend=aot_eager',
    )  # fmt: skip
    assert 'train_step' in vars(runner.model)  # mmengine replaced it by the compiled one
    assert compiled == pytest.approx(eager, rel=1e-4)


# ----------------------------------------------------------------------------------------
# Testing and validation precision
# ----------------------------------------------------------------------------------------
def prepare_test(config: str, tmp_path, *options: str):
    from mmtl.apis.runner_setup import prepare_test_config
    from mmtl.utils.run_args import test_parser

    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')  # only its existence is checked before the runner loads it
    argv = [config, str(ckpt)] + (['--cfg-options', *options] if options else [])
    return prepare_test_config(test_parser().parse_args(argv))


def test_testing_stays_fp32_on_a_bf16_cpu_with_a_log_line(
    config_file, cpu_with, tmp_path, log_lines
):
    # The scores written and thresholded are those inference_model gives (float32).
    cpu_with(X86_BF16)
    assert 'fp16' not in prepare_test(config_file, tmp_path).test_cfg
    assert any('float32 for testing' in m and 'test_cfg.fp16=True' in m for m in log_lines)
    assert prepare_test(config_file, tmp_path, 'test_cfg.fp16=True').test_cfg.fp16 is True


def test_testing_stays_fp32_without_native_bf16_or_when_the_config_says(
    config_file, cpu_with, tmp_path
):
    cpu_with(X86_PLAIN)
    assert 'fp16' not in prepare_test(config_file, tmp_path).test_cfg
    cpu_with(X86_BF16)
    assert prepare_test(config_file, tmp_path, 'test_cfg.fp16=False').test_cfg.fp16 is False
    digits = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    assert prepare_test(digits, tmp_path).test_cfg.fp16 is False


def test_default_bf16_training_validates_in_bf16(config_file, cpu_with):
    cpu_with(X86_BF16)
    assert prepare_train_config(parse_train(config_file)).val_cfg.fp16 is True
    assert 'fp16' not in prepare_train_config(parse_train(config_file, '--amp', 'none')).val_cfg


@pytest.mark.parametrize('wrapper', ['BF16AutocastOptimWrapper', 'OptimWrapper', 'AmpOptimWrapper'])
def test_typed_wrapper_with_a_constructor_passes_the_key_check(wrapper):
    # --amp / the default precision name the wrapper type; the base schedules' constructor and
    # paramwise_cfg are the builder's keys and must still be accepted (a typo still is not).
    from mmengine.config import Config

    from mmtl.config.check_keys import check_config_keys

    cfg = Config(
        dict(
            optim_wrapper=dict(
                type=wrapper,
                constructor='TransferOptimWrapperConstructor',
                paramwise_cfg=dict(norm_decay_mult=0.0),
                optimizer=dict(type='SGD', lr=0.1),
            )
        )
    )
    check_config_keys(cfg)
    cfg.optim_wrapper.constructr = 'x'
    with pytest.raises(ConfigError, match='constructr'):
        check_config_keys(cfg)
