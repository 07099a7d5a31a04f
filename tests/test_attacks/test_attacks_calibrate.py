"""Attacks on tools/calibrate.py: where it writes."""

import os.path as osp

from mmtl_testing import REPO_ROOT, import_tool, tool_status


def test_an_out_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    tool = import_tool('tools/calibrate.py')

    def no_work(*args, **kwargs):
        raise AssertionError('the model was built before --out was checked')

    monkeypatch.setattr('mmtl.apis.init_model', no_work)
    config = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    out = tmp_path / 'calibrated'
    out.mkdir()
    assert tool_status(tool.main, [config, 'model.pth', '--out', str(out)]) == 1
    assert capsys.readouterr().err.strip() == f'error: --out {out} is a folder: give a file name'
