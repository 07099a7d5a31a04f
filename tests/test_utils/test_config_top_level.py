"""Top-level names of a config file: a misspelt section is refused, user variables are not."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmtl_testing import REPO_ROOT

from mmtl.config.check_keys import check_top_level_names
from mmtl.utils.errors import ConfigError

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')


def write(tmp_path, body: str) -> Config:
    path = tmp_path / 'my_config.py'
    path.write_text(f'_base_ = [{DIGITS!r}]\n' + body)
    return Config.fromfile(str(path))


def test_a_misspelt_section_is_refused_with_the_line_and_the_closest_key(tmp_path):
    cfg = write(tmp_path, '\noptim_wraper = dict(optimizer=dict(lr=0.1))\n')
    with pytest.raises(ConfigError) as err:
        check_top_level_names(cfg)
    message = str(err.value)
    assert message.startswith(f'{tmp_path / "my_config.py"}:3: ')
    assert "'optim_wraper'" in message and "did you mean 'optim_wrapper'?" in message
    assert "start with '_'" in message


@pytest.mark.parametrize(
    'body',
    [
        '_lr = 0.1\n',  # a variable of the user's own, by its leading underscore
        'my_lr = 0.1\noptim_wrapper = dict(optimizer=dict(lr=my_lr))\n',  # used in the file
        "train_pipeline = [dict(type='LoadImage'), dict(type='PackInputs')]\n",  # a base's
        'input_size = 48\ndata_root = "data"\n',  # keys mmtl reads
        'resume = True\nlog_level = "WARNING"\n',  # Runner arguments
    ],
)
def test_user_variables_base_names_and_runner_keys_are_accepted(tmp_path, body):
    check_top_level_names(write(tmp_path, body))


def test_a_file_without_bases_is_not_checked(tmp_path):
    # The flat config a Runner dumps into its work dir keeps its bases' helper variables.
    path = tmp_path / 'dumped.py'
    path.write_text(Config.fromfile(DIGITS).pretty_text)
    check_top_level_names(Config.fromfile(str(path)))


def test_every_shipped_config_passes():
    configs = glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    configs = [c for c in configs if '_base_' not in c]
    assert len(configs) > 10
    for path in configs:
        check_top_level_names(Config.fromfile(path))


def test_an_unsplit_class_folder_as_data_root_suggests_split_dataset(tmp_path):
    from mmtl.config.check import check_split_folders

    for name in ('cat', 'dog'):
        (tmp_path / 'photos' / name).mkdir(parents=True)
    cfg = Config.fromfile(DIGITS)
    cfg.data_root = str(tmp_path / 'photos')
    with pytest.raises(ConfigError) as err:
        check_split_folders(cfg)
    assert str(err.value) == (
        f'data_root={cfg.data_root!r} has no train/ folder but 2 folders (cat, dog): if these '
        f'are the classes, split them first: mim run mmtl split_dataset {cfg.data_root} '
        f'{cfg.data_root}_split, then data_root={cfg.data_root}_split'
    )
    (tmp_path / 'photos' / 'train').mkdir()
    check_split_folders(cfg)  # a split dataset passes
