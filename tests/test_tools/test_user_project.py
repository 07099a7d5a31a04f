"""A user's own project folder, outside the repository: configs inheriting ``mmtl::`` ones.

Editable install (this checkout) and normal install (``pip install --target``), through
``Config.fromfile`` after ``import mmtl``, ``tools/train.py`` and ``mim train mmtl``; and one
clean error per mistake under mim.
"""

import os.path as osp
import shutil
import sys

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, tool_env

USER_CONFIG = """\
_base_ = ['mmtl::mobilenet-v2_digits.py']
model = dict(head=dict(num_classes=3))
train_cfg = dict(max_epochs=1)
train_dataloader = dict(batch_size=8)
"""


def write_user_project(folder, digits_root: str) -> str:
    """``folder/my_digits.py`` + ``folder/data`` (the digits): a user's own project."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(digits_root, folder / 'data')
    (folder / 'my_digits.py').write_text(USER_CONFIG + "data_root = 'data'\n")
    return str(folder / 'my_digits.py')


def test_mmtl_base_configs_resolve_from_a_folder_outside_the_repo(tmp_path):
    from mmengine.config import Config

    import mmtl  # noqa: F401  (registers mmtl:: with mmengine)

    (tmp_path / 'my_fruit.py').write_text(
        "_base_ = ['mmtl::mobilenet-v2_fruit.py']\nmodel = dict(head=dict(num_classes=12))\n"
    )
    (tmp_path / 'my_resnet.py').write_text(
        "_base_ = ['mmtl::_base_/models/resnet50.py', 'mmtl::_base_/default_runtime.py']\n"
    )
    fruit = Config.fromfile(str(tmp_path / 'my_fruit.py'))
    assert fruit.model.head.num_classes == 12
    assert fruit.model.backbone.type == 'MobileNetV2'
    assert fruit.data_root == 'data/fruit30_split' and fruit.runner_type == 'MMTLRunner'
    resnet = Config.fromfile(str(tmp_path / 'my_resnet.py'))
    assert resnet.model.backbone.depth == 50 and resnet.default_scope == 'mmtl'


def test_mmtl_prefix_names_a_config_on_the_command_line_too():
    from mmtl.config.load import read_config

    cfg = read_config('mmtl::mobilenet-v2_fruit.py')
    assert cfg.model.head.num_classes == 30
    assert cfg.filename == osp.realpath(osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py'))


def test_an_unknown_mmtl_base_config_is_named(tmp_path):
    from mmengine.config import Config

    import mmtl  # noqa: F401

    (tmp_path / 'bad.py').write_text("_base_ = ['mmtl::mobilenet-v3_fruit.py']\n")
    with pytest.raises(FileNotFoundError, match=r"'mmtl::mobilenet-v3_fruit.py': mmtl has no"):
        Config.fromfile(str(tmp_path / 'bad.py'))


def test_other_packages_base_configs_still_go_to_mmengine(tmp_path):
    from mmengine.config import Config

    import mmtl  # noqa: F401

    (tmp_path / 'other.py').write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\n")
    assert Config.fromfile(str(tmp_path / 'other.py')).default_scope == 'mmpretrain'


def _train_outputs_ok(project: str, result) -> None:
    assert result.returncode == 0, describe(result)
    assert osp.isfile(osp.join(project, 'wd', 'epoch_1.pth')), describe(result)
    dumped = open(osp.join(project, 'wd', 'my_digits.py')).read()
    assert "data_root = 'data'" in dumped  # as written: re-runs elsewhere with a new data_root


@pytest.mark.slow
def test_editable_install_tools_train_and_mim_from_the_user_folder(tmp_path, digits_root):
    config = write_user_project(tmp_path / 'project', digits_root)
    project = osp.dirname(config)
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), 'my_digits.py']
        + ['--work-dir', 'wd', '--cfg-options', *NO_WORKERS],
        cwd=project,
    )
    _train_outputs_ok(project, result)
    shutil.rmtree(osp.join(project, 'wd'))
    result = run_command(
        ['mim', 'train', 'mmtl', 'my_digits.py', '--work-dir', 'wd', '--cfg-options', *NO_WORKERS],
        cwd=project,
    )
    _train_outputs_ok(project, result)


@pytest.mark.slow
def test_one_clean_error_line_under_mim(tmp_path, digits_root):
    config = write_user_project(tmp_path / 'project', digits_root)
    result = run_command(
        ['mim', 'train', 'mmtl', config, '--cfg-options', 'train_dataloadr.batch_size=8'],
        cwd=str(tmp_path),
    )
    assert result.returncode == 1, describe(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and "did you mean 'train_dataloader'" in errors[0], describe(result)
    assert 'Traceback' not in result.stderr and 'CalledProcessError' not in result.stderr
    # A usage error of the tool itself (argparse, exit 2) is spared mim's traceback too.
    result = run_command(['mim', 'train', 'mmtl', config, '--no-such-flag'], cwd=str(tmp_path))
    assert result.returncode == 1, describe(result)
    assert 'unrecognized arguments: --no-such-flag' in result.stderr
    assert 'Traceback' not in result.stderr and 'CalledProcessError' not in result.stderr


@pytest.mark.slow
def test_normal_install_resolves_mmtl_configs_and_trains_with_mim(
    tmp_path, digits_root, normal_install
):
    config = write_user_project(tmp_path / 'project', digits_root)
    project = osp.dirname(config)
    env = tool_env(project, PYTHONPATH=normal_install)
    probe = (
        'import mmtl; from mmengine.config import Config; '
        "print(mmtl.__file__); print(Config.fromfile('my_digits.py').filename); "
        'from mmtl.config.load import packaged_config_path as p; '
        "print(p('mmtl::_base_/models/resnet50.py'))"
    )
    result = run_command([sys.executable, '-c', probe], cwd=project, env=env)
    assert result.returncode == 0, describe(result)
    module_file, _, base_file = result.stdout.strip().splitlines()[-3:]
    assert module_file.startswith(normal_install)
    assert base_file.startswith(osp.join(normal_install, 'mmtl', '.mim', 'configs'))
    result = run_command(
        ['mim', 'train', 'mmtl', 'my_digits.py', '--work-dir', 'wd', '--cfg-options', *NO_WORKERS],
        cwd=project,
        env=env,
    )
    _train_outputs_ok(project, result)
    assert osp.join(normal_install, 'mmtl', '.mim', 'tools', 'train.py') in result.stdout


def test_readme_own_config_example_reads_as_documented(tmp_path):
    """The config of README's "Your own data in one config", written into a folder of its own."""
    from mmtl.config.load import load_config

    readme = open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8').read()
    section = readme.split('## Your own data in one config', 1)[1]
    block = section.split('```python\n', 1)[1].split('```', 1)[0]
    assert block.startswith('# my_project/my_fruit.py')
    (tmp_path / 'my_fruit.py').write_text(block)
    (tmp_path / 'data').mkdir()
    cfg = load_config(str(tmp_path / 'my_fruit.py'), {'data_root': str(tmp_path / 'data')})
    assert cfg.model.head.num_classes == 12 and cfg.train_cfg.max_epochs == 10
    assert cfg.train_dataloader.dataset.pipeline[0]['scale'] == 160
    sizes = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    assert sizes['ResizeEdge']['scale'] == 182 and sizes['CenterCrop']['crop_size'] == 160
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path / 'data')
