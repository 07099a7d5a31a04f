"""Every key is checked before any work, against what the type it configures accepts.

Keys in files and on the command line, value ranges, and what only the built model can tell
(module names), each as one line naming the key.
"""

import os
import os.path as osp

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, import_tool, tool_status

from mmtl.utils.errors import ConfigError

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def digits_options(digits_root: str, **extra) -> dict:
    options = {'data_root': digits_root, 'model.head.num_classes': 3, 'train_cfg.max_epochs': 1}
    options.update(dict(item.split('=') for item in NO_WORKERS))
    options = {k: (int(v) if str(v).isdigit() else v) for k, v in options.items()}
    options.update(extra)
    return options


def build(tmp_path, options: dict, config: str = DIGITS):
    from mmtl.apis.runner_setup import build_runner
    from mmtl.config.load import read_config

    cfg = read_config(config, options)
    cfg.work_dir = str(tmp_path / 'wd')
    return build_runner(cfg)


def write_config(tmp_path, body: str) -> str:
    path = tmp_path / 'my_config.py'
    path.write_text(f'_base_ = [{DIGITS!r}]\n' + body)
    return str(path)


def train_tool(argv, capsys):
    code = tool_status(import_tool('tools/train.py').main, argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith('error:')]


# ----------------------------------------------------------------------------------------
# Keys
# ----------------------------------------------------------------------------------------


def test_misspelt_top_level_key_on_the_command_line(tmp_path, digits_root, capsys):
    argv = [DIGITS, '--work-dir', str(tmp_path / 'wd'), '--cfg-options']
    argv += [f'data_root={digits_root}', 'train_dataloadr.batch_size=8']
    code, errors = train_tool(argv, capsys)
    assert code == 1 and len(errors) == 1
    assert "no top-level key 'train_dataloadr' (did you mean 'train_dataloader'?)" in errors[0]
    assert not osp.exists(tmp_path / 'wd')  # before any work


def test_a_new_top_level_key_declared_in_the_file_is_the_escape_hatch(tmp_path, digits_root):
    from mmtl.config.load import read_config

    config = write_config(tmp_path, '_my_experiment_tag = None\n')
    cfg = read_config(config, {'_my_experiment_tag': 'run-7'})
    assert cfg._my_experiment_tag == 'run-7'
    build(tmp_path, digits_options(digits_root, _my_experiment_tag='x'), config)


@pytest.mark.parametrize(
    'body, expected',
    [
        (
            'train_cfg = dict(max_epoch=3)\n',
            "train_cfg.max_epoch: ResumableEpochBasedTrainLoop takes no argument 'max_epoch' "
            "(did you mean 'max_epochs'?)",
        ),
        (
            'train_dataloader = dict(batchsize=8)\n',
            "train_dataloader.batchsize: torch DataLoader takes no argument 'batchsize' "
            "(did you mean 'batch_size'?)",
        ),
        (
            'model = dict(head=dict(num_class=3))\n',
            "model.head.num_class: LinearClsHead takes no argument 'num_class' "
            "(did you mean 'num_classes'?)",
        ),
        (
            'optim_wrapper = dict(optimizer=dict(weight_decy=0.1))\n',
            "optim_wrapper.optimizer.weight_decy: AdamW takes no argument 'weight_decy' "
            "(did you mean 'weight_decay'?)",
        ),
        (
            'default_hooks = dict(early_stopping=dict(patiense=3))\n',
            'default_hooks.early_stopping.patiense: EarlyStoppingHook takes no argument',
        ),
        (
            "val_evaluator = dict(type='Accuracy', topk=(1,), averge='macro')\n",
            "val_evaluator.averge: Accuracy takes no argument 'averge'",
        ),
    ],
)
def test_misspelt_key_inside_a_file_before_any_work(tmp_path, digits_root, body, expected):
    config = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        build(tmp_path, digits_options(digits_root), config)
    assert expected in str(info.value)
    assert '\n' not in str(info.value)
    assert not osp.exists(tmp_path / 'wd')


def test_keys_forwarded_through_kwargs_are_accepted(tmp_path, digits_root):
    # TransferClassifier(frozen_modules, **kwargs) -> ImageClassifier(backbone, neck, ...);
    # FolderDataset(**kwargs) -> BaseDataset(indices, ...); AdamW, schedulers, hooks.
    options = digits_options(
        digits_root,
        **{
            'model.type': 'TransferClassifier',
            'model.frozen_modules': ['backbone.conv1'],
            'train_dataloader.dataset.indices': 20,
            'train_dataloader.dataset.bad_file_policy': 'skip',
            'param_scheduler.0.convert_to_iter_based': True,
            'default_hooks.checkpoint.priority': 'LOW',
        },
    )
    runner = build(tmp_path, options)
    assert runner.model.frozen_modules == ['backbone.conv1']


def test_a_type_taking_any_keyword_accepts_every_key():
    from mmtl.config.check_keys import accepted_keys

    class Open:
        def __init__(self, **kwargs):
            pass

    class Forwarding(Open):
        def __init__(self, size: int = 1, **kwargs):
            super().__init__(**kwargs)

    class Closed:
        def __init__(self, size: int = 1, *, mode: str = 'a'):
            pass

    class Child(Closed):
        def __init__(self, extra: int = 0, **kwargs):
            super().__init__(**kwargs)

    assert accepted_keys(Open) is None and accepted_keys(Forwarding) is None
    assert accepted_keys(Closed) == {'size', 'mode'}
    assert accepted_keys(Child) == {'extra', 'size', 'mode'}


def test_a_key_new_to_a_registered_type_is_accepted_without_a_list(tmp_path):
    """A class that gains an argument (as other work adds ones) is checked from its signature."""
    from mmengine.config import Config

    from mmtl.config.check_keys import check_config_keys
    from mmtl.registry import HOOKS

    @HOOKS.register_module(force=True)
    class _ConfigKeysProbeHook:
        def __init__(self, pixel_limit: int = 0, load_from_partial: bool = False):
            pass

    ok = Config(dict(custom_hooks=[dict(type='_ConfigKeysProbeHook', pixel_limit=5)]))
    check_config_keys(ok)
    bad = Config(dict(custom_hooks=[dict(type='_ConfigKeysProbeHook', pixel_limt=5)]))
    with pytest.raises(ConfigError, match=r"custom_hooks\.0\.pixel_limt: .*'pixel_limit'"):
        check_config_keys(bad)


def test_every_shipped_config_passes_the_key_check():
    import glob

    from mmtl.config.check_keys import check_config_keys
    from mmtl.config.load import load_config

    configs = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*.py')))
    assert len(configs) > 10
    for path in configs:
        check_config_keys(load_config(path))


# ----------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'key, value, expected',
    [
        ('train_cfg.val_interval', 0, 'train_cfg.val_interval=0: expected a positive integer'),
        (
            'auto_scale_lr.base_batch_size',
            0,
            'auto_scale_lr.base_batch_size=0: expected a positive integer',
        ),
        ('optim_wrapper.optimizer.lr', float('inf'), 'optim_wrapper.optimizer.lr=inf: expected'),
        ('optim_wrapper.optimizer.lr', float('nan'), 'optim_wrapper.optimizer.lr=nan: expected'),
        (
            'optim_wrapper.optimizer.weight_decay',
            -0.1,
            'optim_wrapper.optimizer.weight_decay=-0.1: expected a number >= 0',
        ),
    ],
)
def test_out_of_range_values_stop_before_any_work(tmp_path, digits_root, key, value, expected):
    with pytest.raises(ConfigError, match=expected.replace('.', r'\.')):
        build(tmp_path, digits_options(digits_root, **{key: value}))
    assert not osp.exists(tmp_path / 'wd')


def test_lr_inf_from_the_command_line_is_one_line(tmp_path, digits_root, capsys):
    argv = [DIGITS, '--work-dir', str(tmp_path / 'wd'), '--cfg-options']
    argv += [f'{k}={v}' for k, v in digits_options(digits_root).items()]
    code, errors = train_tool(argv + ['optim_wrapper.optimizer.lr=inf'], capsys)
    assert code == 1 and errors == [
        'error: optim_wrapper.optimizer.lr=inf: expected a number >= 0, finite'
    ]


def test_auto_scale_lr_without_a_base_batch_is_one_line(tmp_path, digits_root, capsys):
    argv = [DIGITS, '--work-dir', str(tmp_path / 'wd'), '--auto-scale-lr', '--cfg-options']
    argv += [f'{k}={v}' for k, v in digits_options(digits_root).items()]
    code, errors = train_tool(argv + ['auto_scale_lr=None'], capsys)
    assert code == 1 and len(errors) == 1
    assert 'no auto_scale_lr.base_batch_size' in errors[0]
    assert not osp.exists(tmp_path / 'wd')


# ----------------------------------------------------------------------------------------
# What only the built model and data can tell, before training
# ----------------------------------------------------------------------------------------


def test_unknown_frozen_module_is_one_line_at_build(tmp_path, digits_root, capsys):
    argv = [DIGITS, '--work-dir', str(tmp_path / 'wd'), '--cfg-options']
    argv += [f'{k}={v}' for k, v in digits_options(digits_root).items()]
    argv += ['model.type=TransferClassifier', 'model.frozen_modules=[backbone.layr4]']
    code, errors = train_tool(argv, capsys)
    assert code == 1 and len(errors) == 1
    assert "frozen_modules: 'backbone.layr4' is not a module" in errors[0]
    assert not glob_checkpoints(tmp_path)


def glob_checkpoints(tmp_path):
    import glob

    return glob.glob(str(tmp_path / 'wd' / '*.pth'))


def test_gradual_unfreeze_step_naming_a_missing_module_fails_at_build(tmp_path, digits_root):
    options = digits_options(
        digits_root,
        **{
            'model.type': 'TransferClassifier',
            'model.frozen_modules': ['backbone'],
            'optim_wrapper.constructor': 'TransferOptimWrapperConstructor',
            'custom_hooks': [
                dict(
                    type='GradualUnfreezeHook',
                    schedule=[
                        dict(epoch=2, modules=['backbone.layer9']),
                        dict(epoch=30, modules=['backbone.conv9']),
                    ],
                )
            ],
        },
    )
    with pytest.raises(ConfigError) as info:
        build(tmp_path, options)  # today: found only when epoch 30 starts
    message = str(info.value)
    assert "GradualUnfreezeHook schedule (epoch=2) modules: 'backbone.layer9'" in message
    assert not glob_checkpoints(tmp_path)


def _digits_copy(tmp_path, digits_root: str) -> str:
    import shutil

    root = str(tmp_path / 'digits')
    shutil.copytree(digits_root, root)
    return root


def test_unknown_val_folder_names_the_val_keys_before_training(tmp_path, digits_root):
    root = _digits_copy(tmp_path, digits_root)
    os.makedirs(osp.join(root, 'val', 'seven'))
    first = sorted(os.listdir(osp.join(root, 'val', '0')))[0]
    os.rename(osp.join(root, 'val', '0', first), osp.join(root, 'val', 'seven', first))
    runner = build(tmp_path, digits_options(root))
    with pytest.raises(ConfigError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith('val_dataloader.dataset: ') and "['seven']" in message
    assert not glob_checkpoints(tmp_path)


def test_bad_val_file_suggests_the_val_key(tmp_path, digits_root):
    from mmtl.utils.errors import BadDataError

    root = _digits_copy(tmp_path, digits_root)
    with open(osp.join(root, 'val', '1', 'broken.png'), 'wb') as f:
        f.write(b'not an image at all')
    runner = build(tmp_path, digits_options(root))
    with pytest.raises(BadDataError) as info:
        runner.train()
    message = str(info.value)
    assert 'val_dataloader.dataset.bad_file_policy=skip' in message
    assert 'train_dataloader' not in message
    assert not glob_checkpoints(tmp_path)
