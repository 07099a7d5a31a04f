"""One dotted-module lookup (mmtl.utils.modules) for every place a user names a module."""

import pytest
from torch import nn

from mmtl.models import TransferClassifier
from mmtl.utils.errors import ConfigError
from mmtl.utils.modules import UnknownModuleError, find_submodules


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.backbone.add_module('layer1', nn.Conv2d(4, 4, 1))
        self.head = nn.Linear(4, 2)


def test_found_modules_come_back_in_the_order_asked():
    net = Net()
    found = find_submodules(net, ['head', 'backbone.layer1', 'backbone'], label='layer')
    assert list(found) == ['head', 'backbone.layer1', 'backbone']
    assert found['backbone.layer1'] is net.backbone.layer1


def test_an_unknown_name_is_one_clear_line_with_the_closest_names():
    with pytest.raises(UnknownModuleError) as info:
        find_submodules(Net(), ['head', 'backbone.layr1'], label='frozen_modules:')
    message = str(info.value)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, KeyError)
    assert message.startswith("frozen_modules: 'backbone.layr1' is not a module of Net.")
    assert "Did you mean ['backbone.layer1'" in message
    assert message.endswith("starting with one of ['backbone', 'head'].")
    assert '\n' not in message


def test_a_name_like_nothing_lists_only_the_top_level_modules():
    with pytest.raises(UnknownModuleError) as info:
        find_submodules(Net(), ['zzz'], label='layer')
    assert 'Did you mean' not in str(info.value) and "['backbone', 'head']" in str(info.value)


def test_the_caller_chooses_the_error_type():
    class LayerError(ConfigError):
        pass

    with pytest.raises(LayerError, match="layer 'neck'"):
        find_submodules(Net(), ['neck'], label='layer', error=LayerError)


def test_transfer_classifier_lookup_says_the_same():
    """TransferClassifier names an unknown frozen module as the shared lookup does."""
    model = TransferClassifier(
        backbone=dict(type='ResNet', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=512),
    )
    for wrong in ('backbone.layr1', 'zzz', 'head.x'):
        with pytest.raises(KeyError) as own:
            model.freeze([wrong])
        with pytest.raises(UnknownModuleError) as shared:
            find_submodules(model, [wrong], label='frozen_modules:')
        assert str(shared.value) == str(own.value)
