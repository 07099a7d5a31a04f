"""Bad configs and arguments fail before any work, naming the key and the value."""

import glob
import os.path as osp
import sys

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.apis.runner_setup import prepare_train_config
from mmtl.config.check import check_value_ranges, validate_config
from mmtl.config.check_keys import check_config_keys
from mmtl.config.load import load_config
from mmtl.utils.errors import ConfigError
from mmtl.utils.run_args import train_parser

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
FRUIT_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py')


def digits_config(data_root, **options):
    return load_config(DIGITS_CONFIG, {'data_root': data_root, **options})


# --------------------------------------------------------------------------------------------
# --cfg-options values
# --------------------------------------------------------------------------------------------


BAD_OPTIONS = {
    'train_cfg.max_epochs': ('ten', "max_epochs='ten': expected a number (the config has 30)"),
    'optim_wrapper.optimizer.lr': ('fast', 'expected a number (the config has 0.004)'),
    'train_dataloader.persistent_workers': ('yes', 'expected True or False (the config has True)'),
    'model': ('resnet', "model='resnet': model is a section of the config (type, backbone"),
    'train_cfg.max_epoch': (
        5,
        "no key 'train_cfg.max_epoch' (did you mean 'train_cfg.max_epochs'?)",
    ),
}


@pytest.mark.parametrize('key', sorted(BAD_OPTIONS))
def test_bad_cfg_option_is_refused_naming_key_and_value(key):
    value, expected = BAD_OPTIONS[key]
    with pytest.raises(ConfigError) as info:
        load_config(DIGITS_CONFIG, {key: value})
    assert f'--cfg-options {key}=' in str(info.value)
    assert expected in str(info.value)


def test_good_cfg_options_pass(digits_root):
    cfg = digits_config(
        digits_root,
        **{
            'train_cfg.max_epochs': 2,
            'optim_wrapper.optimizer.lr': 1,  # an int where the file has a float
            'model.head.num_classes': 3,
            'train_dataloader.dataset.indices': 10,  # a new key, far from any existing one
            'load_from': None,
            'default_hooks.early_stopping': None,  # switching a section off is fine
        },
    )
    assert cfg.train_cfg.max_epochs == 2
    validate_config(cfg)


@pytest.mark.parametrize(
    'key, value, expected',
    [
        ('model.head.num_classes', 0, 'model.head.num_classes=0: expected a positive integer'),
        ('train_dataloader.batch_size', 2.5, 'batch_size=2.5: expected a positive integer'),
        ('optim_wrapper.optimizer.lr', -0.1, 'lr=-0.1: expected a number >= 0'),
        ('train_dataloader.num_workers', -1, 'num_workers=-1: expected an integer >= 0'),
    ],
)
def test_out_of_range_values_are_refused(digits_root, key, value, expected):
    cfg = digits_config(digits_root, **{key: value})
    with pytest.raises(ConfigError, match=expected.replace('.', r'\.').replace('(', r'\(')):
        validate_config(cfg)


# --------------------------------------------------------------------------------------------
# Type names, data roots, class count
# --------------------------------------------------------------------------------------------


def test_misspelt_type_suggests_the_registered_name(digits_root):
    cfg = digits_config(digits_root, **{'model.backbone.type': 'MobileNetv2'})
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    assert str(info.value) == (
        "model.backbone.type='MobileNetv2': no such type in the mmtl, mmpretrain or mmengine "
        "registries (did you mean 'MobileNetV2'?)"
    )


@pytest.mark.parametrize(
    'key, wrong, right',
    [
        ('train_dataloader.dataset.type', 'FolderDatset', 'FolderDataset'),  # mmtl
        ('default_hooks.checkpoint.type', 'AtomicCheckpointHok', 'AtomicCheckpointHook'),  # mmtl
        ('optim_wrapper.optimizer.type', 'AdamWW', 'AdamW'),  # torch, via mmengine
        ('val_evaluator.type', 'Acuracy', 'Accuracy'),  # mmpretrain / mmtl
    ],
)
def test_misspelt_types_across_scopes(digits_root, key, wrong, right):
    cfg = digits_config(digits_root, **{key: wrong})
    with pytest.raises(ConfigError, match=f"{key}='{wrong}'.*did you mean '{right}'"):
        validate_config(cfg)


def test_scoped_and_pipeline_type_names_are_accepted(digits_root):
    cfg = digits_config(digits_root, **{'model.backbone.type': 'mmpretrain.MobileNetV2'})
    cfg.model.head.num_classes = 3
    validate_config(cfg)
    cfg.train_dataloader.dataset.pipeline[1].type = 'RandomResizedCrp'
    with pytest.raises(ConfigError, match=r'train_dataloader\.dataset\.pipeline\.1\.type='):
        validate_config(cfg)


def test_missing_data_root_names_key_and_path(tmp_path):
    missing = str(tmp_path / 'no_such_dataset')
    with pytest.raises(ConfigError) as info:
        validate_config(digits_config(missing))
    assert str(info.value).startswith(f"data_root='{missing}': folder does not exist")
    assert '--cfg-options data_root=' in str(info.value)


def test_dataset_data_root_of_its_own_is_checked_too(digits_root, tmp_path):
    missing = str(tmp_path / 'elsewhere')
    cfg = digits_config(digits_root, **{'test_dataloader.dataset.data_root': missing})
    with pytest.raises(ConfigError, match=f"test_dataloader.dataset.data_root='{missing}'"):
        validate_config(cfg)


def test_num_classes_must_match_the_classes_file(digits_root):
    cfg = digits_config(digits_root)  # the digits config says 10; this data has 3
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    message = str(info.value)
    assert message.startswith('model.head.num_classes=10 but the training data has 3 classes')
    assert osp.join(digits_root, 'classes.txt') in message
    assert '--cfg-options model.head.num_classes=3' in message


def test_num_classes_must_match_the_class_folders(fruit_root):
    cfg = load_config(FRUIT_CONFIG, {'data_root': fruit_root, 'load_from': None})
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    assert str(info.value).startswith(
        'model.head.num_classes=30 but the training data has 3 classes '
        f'(in {osp.join(fruit_root, "train")})'
    )
    cfg.model.head.num_classes = 3
    validate_config(cfg)


def test_missing_load_from_file_names_it(digits_root, tmp_path):
    missing = str(tmp_path / 'pretrained.pth')
    args = train_parser().parse_args(
        [DIGITS_CONFIG, '--cfg-options', f'data_root={digits_root}', f'load_from={missing}']
    )
    with pytest.raises(ConfigError, match=f'load_from: checkpoint file not found: {missing}'):
        prepare_train_config(args)


@pytest.mark.slow
def test_train_tool_stops_before_work_with_one_clear_line(tmp_path, digits_root):
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), DIGITS_CONFIG]
        + ['--work-dir', 'wd', '--cfg-options', f'data_root={digits_root}', *NO_WORKERS]
        + ['model.backbone.type=MobileNetv2', 'model.head.num_classes=3'],
        cwd=str(tmp_path),
    )
    assert result.returncode == 1, describe(result)
    assert result.stderr.strip().splitlines()[-1] == (
        "error: model.backbone.type='MobileNetv2': no such type in the mmtl, mmpretrain or "
        "mmengine registries (did you mean 'MobileNetV2'?)"
    )
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'wd').exists()


@pytest.mark.parametrize(
    'name', sorted(osp.basename(p) for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py')))
)
def test_every_shipped_config_names_known_types_and_sane_values(name):
    cfg = load_config(osp.join(REPO_ROOT, 'configs', name))
    check_config_keys(cfg)
    check_value_ranges(cfg)
