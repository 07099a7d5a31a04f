"""Attacks on .safetensors files that are not what their name says."""

import pytest
from mmtl_testing import import_tool, tool_status

from mmtl.utils.errors import CheckpointError
from mmtl.utils.safetensors_io import load_safetensors

NOT_SAFETENSORS = {
    'text': b'hello',
    'huge-header': b'\xff\xff\xff\xff\xff\xff\xff\x7f{}',
}


@pytest.mark.parametrize('content', list(NOT_SAFETENSORS.values()), ids=list(NOT_SAFETENSORS))
def test_a_file_named_safetensors_that_is_not_one_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / 'model.safetensors'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match='model.safetensors'):
        load_safetensors(str(path))


def test_timm2mmtl_refuses_a_fake_safetensors_file_in_one_line(tmp_path, capsys):
    path = tmp_path / 'model.safetensors'
    path.write_bytes(b'hello')
    tool = import_tool('tools/model_converters/timm2mmtl.py')
    try:
        code = tool_status(tool.main, [str(path), str(tmp_path / 'out.pth')])
    except Exception as err:  # the traceback a user sees
        pytest.fail(f'{type(err).__name__}: {err}')
    assert code == 1 and capsys.readouterr().err.startswith(f'error: not a checkpoint: {path}')
