"""Attacks on the torchvision/timm converters: state dicts whose keys or shapes lie."""

import pytest
import torch
import torchvision

from mmtl.models.converters import (
    convert_torchvision_state_dict,
    torchvision_checkpoint_converter,
)


@pytest.fixture(scope='module')
def resnet18_state():
    return dict(torchvision.models.resnet18().state_dict())


@pytest.fixture(scope='module')
def vit_b_32_state():
    return dict(torchvision.models.vit_b_32().state_dict())


def lie(state: dict, key: str, value) -> dict:
    """``state`` with ``key`` set to ``value`` (or removed for None)."""
    state = dict(state)
    if value is None:
        del state[key]
    else:
        state[key] = value
    return state


def test_a_resnet_missing_a_layer_is_refused_in_one_line(resnet18_state):
    # A truncated save: the rule reads the width from a key that is not there.
    state = lie(resnet18_state, 'layer1.0.conv2.weight', None)
    with pytest.raises(ValueError, match='resnet'):
        convert_torchvision_state_dict(state)


def test_a_vit_head_of_no_shape_is_refused_in_one_line(vit_b_32_state):
    state = lie(vit_b_32_state, 'heads.head.weight', torch.zeros(()))
    with pytest.raises(ValueError, match='vit'):
        convert_torchvision_state_dict(state)


def test_a_swin_patch_merging_of_the_wrong_size_is_refused_in_one_line():
    state = dict(torchvision.models.swin_t().state_dict())
    state['features.2.norm.weight'] = torch.zeros(384, 2)
    with pytest.raises(ValueError, match='swin'):
        convert_torchvision_state_dict(state)


def test_load_from_a_torchvision_file_that_lies_is_loaded_unconverted(resnet18_state):
    # load_from: the converter warns and hands the file on (the exact/transfer check then
    # names what does not fit) rather than stopping training with a KeyError traceback.
    state = lie(resnet18_state, 'layer1.0.conv2.weight', None)
    assert torchvision_checkpoint_converter(state, {}, 'resnet18.pth') is None


def test_a_key_with_a_terminal_escape_is_not_printed_raw(resnet18_state):
    evil = 'fc.\x1b]0;owned\x07\x1b[2Jextra'
    state = lie(resnet18_state, evil, torch.zeros(1))
    with pytest.raises(ValueError) as err:
        convert_torchvision_state_dict(state)
    assert '\x1b' not in str(err.value) and '\x07' not in str(err.value)
    assert 'extra' in str(err.value)


def test_the_keys_of_a_file_of_no_family_are_shown_escaped():
    state = {'\x1b[2Jevil': torch.zeros(1)}
    with pytest.raises(ValueError, match='its first keys are') as err:
        convert_torchvision_state_dict(state)
    assert '\x1b' not in str(err.value) and 'evil' in str(err.value)
