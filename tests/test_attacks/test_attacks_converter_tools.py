"""Attacks on torchvision2mmtl: files that are not what their name says."""

import os.path as osp

import pytest
import torch
import torchvision
from mmtl_testing import import_tool, tool_status


def resnet18_with_a_string_weight() -> dict:
    state = dict(torchvision.models.resnet18().state_dict())
    state['conv1.weight'] = 'not a tensor'
    return state


@pytest.mark.parametrize(
    'content',
    [[1, 2], torch.zeros(3), {1: torch.zeros(1)}, resnet18_with_a_string_weight()],
    ids=['list', 'tensor', 'int-keys', 'string-weight'],
)
def test_a_file_that_is_not_a_state_dict_is_refused_in_one_line(tmp_path, capsys, content):
    src, dst = str(tmp_path / 'resnet18.pth'), str(tmp_path / 'out.pth')
    torch.save(content, src)
    tool = import_tool('tools/model_converters/torchvision2mmtl.py')
    assert tool_status(tool.main, [src, dst]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f'error: {src}: not a state dict of tensors'
    assert not osp.exists(dst)
