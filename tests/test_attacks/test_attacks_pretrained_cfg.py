"""Attacks on meta.pretrained_cfg of a checkpoint given as load_from (outside data)."""

from mmtl.engine.hooks.pretrained_normalization_hook import normalization_mismatch

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def test_a_malformed_pretrained_cfg_is_ignored():
    assert normalization_mismatch({'mean': ['a', 'b', 'c'], 'std': [1, 1, 1]}, MEAN, STD) is None


def test_the_model_name_of_a_pretrained_cfg_cannot_reach_the_terminal():
    cfg = {'model': 'x\x1b[2J', 'mean': [0.5, 0.5, 0.5], 'std': [0.5, 0.5, 0.5]}
    message = normalization_mismatch(cfg, MEAN, STD)
    assert message is not None and '\x1b' not in message
