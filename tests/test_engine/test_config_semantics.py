"""An mmtl config means the same through every entry point: the Runner gives it its meaning.

tools/train.py, mim and the standard OpenMMLab script (``Config.fromfile`` + mmengine's
``RUNNERS.build``) build the same Runner; the config dumped into the work dir is the config
as written, so it re-runs elsewhere with another ``data_root``.
"""

import ast
import glob
import os.path as osp
import shutil

import pytest
from mmtl_testing import REPO_ROOT

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
FRUIT = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py')


def _digits_options(digits_root: str) -> dict:
    return {
        'data_root': digits_root,
        'model.head.num_classes': 3,
        'train_cfg.max_epochs': 1,
        'train_dataloader.batch_size': 8,
    }


def _tools_runner(work_dir: str, options: dict):
    """The Runner tools/train.py (and ``mim train mmtl``) builds."""
    from mmtl.apis.runner_setup import build_runner, prepare_train_config
    from mmtl.utils.run_args import train_parser

    pairs = [f'{key}={value}' for key, value in options.items()]
    args = train_parser().parse_args([DIGITS, '--work-dir', work_dir, '--cfg-options', *pairs])
    return build_runner(prepare_train_config(args))


def _standard_script_runner(config: str, work_dir: str, options: dict):
    """The standard OpenMMLab train script, after ``import mmtl``."""
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmtl  # noqa: F401

    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def _comparable(cfg) -> dict:
    data = cfg.to_dict()
    for key in ('work_dir', 'launcher', 'visualizer'):  # the visualizer gets the log dir
        data.pop(key, None)
    return data


def test_standard_script_builds_the_same_runner_as_tools_train(tmp_path, digits_root):
    from mmtl.engine import MMTLRunner

    options = _digits_options(digits_root)
    tools = _tools_runner(str(tmp_path / 'tools'), options)
    script = _standard_script_runner(DIGITS, str(tmp_path / 'script'), options)
    assert type(script) is MMTLRunner and type(tools) is MMTLRunner
    assert _comparable(script.cfg) == _comparable(tools.cfg)
    # The meaning applied: data_root in every dataset, machine-sized workers, sizes.
    for cfg in (script.cfg, tools.cfg):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            assert cfg[key].dataset.data_root == digits_root
            assert isinstance(cfg[key].num_workers, int)
        assert cfg.train_dataloader.dataset.pipeline[0]['scale'] == 32
    assert script.get_hooks_info() == tools.get_hooks_info()


@pytest.mark.slow
def test_standard_script_trains_an_mmtl_config(tmp_path, digits_root):
    options = {**_digits_options(digits_root), 'train_dataloader.num_workers': 0}
    options.update({'val_dataloader.num_workers': 0, 'test_dataloader.num_workers': 0})
    runner = _standard_script_runner(DIGITS, str(tmp_path / 'wd'), options)
    runner.train()
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth')
    best = glob.glob(str(tmp_path / 'wd' / 'best_accuracy_top1_epoch_1.pth'))
    assert best, 'the best-checkpoint rule of the base runtime applies'


def test_disabled_default_hook_is_dropped_through_the_standard_script(tmp_path, digits_root):
    options = {**_digits_options(digits_root), 'default_hooks.early_stopping': None}
    runner = _standard_script_runner(DIGITS, str(tmp_path / 'wd'), options)
    names = [type(hook).__name__ for hook in runner.hooks]
    assert 'EarlyStoppingHook' not in names
    assert 'AtomicCheckpointHook' in names


def _dumped_config(work_dir: str) -> str:
    return osp.join(work_dir, 'mobilenet-v2_digits.py')


def test_config_is_dumped_as_written(tmp_path, digits_root):
    from mmengine.config import Config

    # An experiment name of its own: mmengine reuses the visualizer (and its vis_data folder)
    # of an earlier Runner built in the same second under the same name.
    options = dict(_digits_options(digits_root), experiment_name='dumped-as-written')
    _tools_runner(str(tmp_path / 'wd'), options)
    dumped = Config.fromfile(_dumped_config(str(tmp_path / 'wd')))
    assert dumped.data_root == digits_root
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert 'data_root' not in dumped[key].dataset  # one key, not baked into each dataset
        assert dumped[key].num_workers == 'auto'  # not this machine's worker count
    assert dumped.input_size == 32
    assert dumped.train_dataloader.dataset.pipeline[0]['scale'] == 'auto'
    vis_configs = glob.glob(str(tmp_path / 'wd' / '*' / 'vis_data' / 'config.py'))
    assert vis_configs and "num_workers='auto'" in open(vis_configs[0]).read()


def test_dumped_config_reruns_elsewhere_with_a_new_data_root(tmp_path, digits_root):
    from mmtl.apis.runner_setup import build_runner
    from mmtl.config.load import read_config

    _tools_runner(str(tmp_path / 'first'), _digits_options(digits_root))
    moved = str(tmp_path / 'moved_digits')
    shutil.copytree(digits_root, moved)
    cfg = read_config(_dumped_config(str(tmp_path / 'first')), {'data_root': moved})
    cfg.work_dir = str(tmp_path / 'second')
    runner = build_runner(cfg)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert runner.cfg[key].dataset.data_root == moved
    dataset = runner.build_dataloader(runner.cfg.train_dataloader).dataset
    assert dataset.data_root == moved
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    assert paths and all(path.startswith(moved) for path in paths)


def test_runner_cfg_is_resolved_and_source_cfg_as_written(tmp_path, digits_root):
    runner = _tools_runner(str(tmp_path / 'wd'), _digits_options(digits_root))
    assert runner.cfg.train_dataloader.dataset.data_root == digits_root
    assert 'data_root' not in runner.source_cfg.train_dataloader.dataset
    assert runner.source_cfg.train_dataloader.num_workers == 'auto'


# ----------------------------------------------------------------------------------------
# One key for the input size
# ----------------------------------------------------------------------------------------


def test_input_size_sets_train_crop_and_test_resize_and_crop():
    from mmtl.config.load import load_config

    cfg = load_config(FRUIT, {'input_size': 160})
    assert cfg.train_dataloader.dataset.pipeline[0]['scale'] == 160
    test = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    assert test['ResizeEdge']['scale'] == 182  # floor(160 / 0.875), as 256 is for 224
    assert test['LoadImage']['min_size'] == 182
    assert test['CenterCrop']['crop_size'] == 160
    val = {t['type']: t for t in cfg.val_dataloader.dataset.pipeline}
    assert val['CenterCrop']['crop_size'] == 160
    default = load_config(FRUIT)
    assert {t['type']: t for t in default.test_dataloader.dataset.pipeline}['ResizeEdge'][
        'scale'
    ] == 256


def test_input_size_reaches_the_images_the_runner_loads(tmp_path, fruit_root):
    from mmtl.apis.runner_setup import build_runner
    from mmtl.config.load import read_config

    cfg = read_config(
        FRUIT,
        {
            'data_root': fruit_root,
            'load_from': None,
            'model.head.num_classes': 3,
            'input_size': 96,
            'test_dataloader.num_workers': 0,
        },
    )
    cfg.work_dir = str(tmp_path / 'wd')
    runner = build_runner(cfg)
    batch = next(iter(runner.build_dataloader(runner.cfg.test_dataloader)))
    assert batch['inputs'][0].shape == (3, 96, 96)


def test_an_explicit_pipeline_size_is_kept():
    from mmtl.config.load import load_config

    cfg = load_config(FRUIT, {'input_size': 160, 'train_dataloader.dataset.pipeline.0.scale': 64})
    assert cfg.train_dataloader.dataset.pipeline[0]['scale'] == 64


def test_a_bad_input_size_is_one_clear_error():
    from mmtl.config.load import load_config
    from mmtl.utils.errors import ConfigError

    with pytest.raises(ConfigError, match=r'input_size=0: expected a whole number'):
        load_config(FRUIT, {'input_size': 0})
    with pytest.raises(ConfigError, match=r"input_size='big': expected a number"):
        load_config(FRUIT, {'input_size': 'big'})


# ----------------------------------------------------------------------------------------
# The errors module
# ----------------------------------------------------------------------------------------


def test_user_errors_share_one_base():
    from mmtl.utils import errors
    from mmtl.utils.cli import USER_ERRORS
    from mmtl.utils.errors import BadDataError as data_bad

    assert data_bad is errors.BadDataError
    for error in (errors.ConfigError, errors.BadDataError, errors.CheckpointError):
        assert issubclass(error, errors.UserError)
        assert issubclass(error, USER_ERRORS)
    assert not issubclass(errors.BadDataError, errors.ConfigError)  # siblings
    tree = ast.parse(open(errors.__file__).read())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == []


def test_resolving_twice_changes_nothing(digits_root):
    from mmtl.config.load import load_config
    from mmtl.config.resolve import resolve_config

    once = load_config(DIGITS, {'data_root': digits_root})
    assert resolve_config(once).to_dict() == once.to_dict()


def test_init_model_of_a_config_object_as_written_has_the_resolved_test_pipeline(tmp_path):
    import cv2
    import numpy as np
    from mmengine.config import Config

    from mmtl.apis import inference_model, init_model

    model = init_model(Config.fromfile(DIGITS))  # the standard way: Config.fromfile
    test = {t['type']: t for t in model._config.test_dataloader.dataset.pipeline}
    assert test['Resize']['scale'] == 32
    image = str(tmp_path / 'digit.png')
    cv2.imwrite(image, np.full((8, 8, 3), 200, np.uint8))
    result = inference_model(model, image)
    assert 0 <= result['pred_label'] < 10


def test_random_search_best_config_reruns_with_a_new_data_root(tmp_path, digits_root, monkeypatch):
    from mmtl_testing import import_tool

    from mmtl.config.load import load_config

    tool = import_tool('tools/random_search.py')

    def fake_trial(args, study, trial, params, work_dir):  # no training: best_config.py only
        study.tell(trial, 50.0 + trial.number)
        return 'done'

    monkeypatch.setattr(tool, 'run_trial', fake_trial)
    work_dir = str(tmp_path / 'search')
    argv = [DIGITS, '--trials', '2', '--space', 'optim_wrapper.optimizer.lr=choice(0.1,0.2)']
    argv += ['--work-dir', work_dir, '--cfg-options', f'data_root={digits_root}']
    assert tool.main(argv) == 0
    best = osp.join(work_dir, 'best_config.py')
    elsewhere = str(tmp_path / 'elsewhere')
    cfg = load_config(best, {'data_root': elsewhere})
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == elsewhere
    assert 'num_workers' not in open(best).read()  # inherited from the user's config


def test_a_dataset_built_from_the_raw_file_says_what_to_call(digits_root):
    """Config.fromfile + DATASETS.build (what mmpretrain's tools and notebooks do) used to die
    with a bare AssertionError inside a transform on scale='auto'."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmtl.config.resolve import resolve_config
    from mmtl.registry import DATASETS
    from mmtl.utils.errors import ConfigError

    cfg = Config.fromfile(DIGITS)
    cfg.data_root = digits_root
    dataset_cfg = dict(cfg.train_dataloader.dataset, data_root=digits_root)
    with DefaultScope.overwrite_default_scope('mmtl'):
        with pytest.raises(ConfigError, match=r'pipeline.0 \(LoadAndRandomResizedCrop\): scale='):
            DATASETS.build(dataset_cfg)
        resolved = resolve_config(cfg)
        dataset = DATASETS.build(resolved.train_dataloader.dataset)
    assert len(dataset) > 0 and dataset[0]['inputs'].shape[-1] == 32
