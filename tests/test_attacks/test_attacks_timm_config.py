"""Attacks on the config.json beside a timm checkpoint: outside data read as metadata."""

import json
import math

import pytest
import torch
import torchvision
from mmtl_testing import import_tool

from mmtl.models.converters import convert_if_timm, timm_origin


@pytest.fixture(scope='module')
def resnet18_state():
    return dict(torchvision.models.resnet18().state_dict())


def weights_with_config(folder, state, config) -> str:
    path = str(folder / 'model.pth')
    torch.save(state, path)
    (folder / 'config.json').write_text(json.dumps(config))
    return path


@pytest.mark.parametrize(
    'config',
    [
        {'architecture': 123},
        {'architecture': ['resnet18']},
        {'architecture': 'resnet18', 'pretrained_cfg': [1]},
        {'architecture': 'resnet18', 'pretrained_cfg': {'tag': 5}},
    ],
    ids=['int-arch', 'list-arch', 'list-cfg', 'int-tag'],
)
def test_a_malformed_config_json_is_ignored_not_a_traceback(tmp_path, resnet18_state, config):
    path = weights_with_config(tmp_path, resnet18_state, config)
    name, _ = timm_origin(path)
    assert name is None or name == 'resnet18'
    tool = import_tool('tools/model_converters/timm2mmtl.py')
    assert tool.main([path, str(tmp_path / 'out.pth')]) == 0


def test_names_from_config_json_cannot_reach_the_terminal(tmp_path, resnet18_state, capsys):
    config = {
        'architecture': 'resnet18\x1b[2J\x1b]0;owned\x07',
        'pretrained_cfg': {'tag': 'a1_in1k\x1b[31m'},
    }
    path = weights_with_config(tmp_path, resnet18_state, config)
    tool = import_tool('tools/model_converters/timm2mmtl.py')
    assert tool.main([path, str(tmp_path / 'out.pth')]) == 0
    out = capsys.readouterr()
    assert '\x1b' not in out.out + out.err and '\x07' not in out.out + out.err
    meta = torch.load(str(tmp_path / 'out.pth'))['meta']
    assert '\x1b' not in json.dumps(meta, ensure_ascii=False)


def test_pretrained_cfg_values_of_the_wrong_kind_are_dropped(tmp_path, resnet18_state):
    config = {
        'architecture': 'resnet18',
        'pretrained_cfg': {
            'mean': ['a', 'b', 'c'],
            'std': 5,
            'input_size': [3, 160, 160],
            'crop_pct': math.inf,
        },
    }
    path = weights_with_config(tmp_path, resnet18_state, config)
    _, pretrained_cfg = timm_origin(path)
    assert pretrained_cfg == {'model': 'resnet18', 'input_size': [3, 160, 160]}
    # the load path describes the cfg in its log line: no ValueError from f'{"a":g}'
    assert convert_if_timm(resnet18_state, {}, path) is not None
