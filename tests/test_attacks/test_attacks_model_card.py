"""Attacks on init_model(CKPT): a model card from outside declaring a giant head."""

import pytest
import torch

from mmtl.config.model_card import CARD_KEY
from mmtl.utils.errors import CheckpointError


class GiantLayer(Exception):
    """Raised instead of allocating a layer of more than 10^8 weights."""


def test_a_card_declaring_a_giant_head_is_refused_before_the_model_is_built(tmp_path, monkeypatch):
    from mmtl.apis import init_model

    card = dict(
        format=1,
        architecture='resnet18',
        num_classes=3,
        input_size=32,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        head=dict(hidden_channels=[65536] * 8),
    )
    path = str(tmp_path / 'giant.pth')
    # The tensors say nothing of the sort: one small head.
    torch.save(
        {'state_dict': {'head.fc.weight': torch.zeros(3, 512)}, 'meta': {CARD_KEY: card}}, path
    )
    linear_init = torch.nn.Linear.__init__

    def guarded(self, in_features, out_features, *args, **kwargs):
        if in_features * out_features > 10**8:
            raise GiantLayer(f'{in_features} x {out_features}')
        linear_init(self, in_features, out_features, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Linear, '__init__', guarded)
    with pytest.raises(CheckpointError, match='giant.pth'):
        init_model(path)
