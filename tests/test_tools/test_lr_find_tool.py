"""lr_find writes beside the run it would train: under the config's own work_dir."""

import os.path as osp

import pytest
from mmtl_testing.commands import import_tool, tool_status
from mmtl_testing.configs import write_tiny_config


@pytest.mark.slow
def test_lr_find_writes_under_the_config_work_dir(tmp_path, monkeypatch, digits_root):
    monkeypatch.chdir(tmp_path)  # a default work_dirs/ would land here
    tiny = write_tiny_config(str(tmp_path))
    config = tmp_path / 'mine.py'
    own = tmp_path / 'runs' / 'mine'
    config.write_text(
        f'_base_ = [{tiny!r}]\ndata_root = {digits_root!r}\nwork_dir = {str(own)!r}\n'
    )
    lr_find = import_tool('tools/lr_find.py')
    assert tool_status(lr_find.main, [str(config), '--num-iters', '4']) == 0
    assert osp.isfile(own / 'lr_find' / 'lr_find.png')
    assert not osp.exists(tmp_path / 'work_dirs')
