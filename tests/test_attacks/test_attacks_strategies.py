"""Attacks on the strategy table: a per-architecture fragment applied to another family."""

import pytest

from mmtl.config import load_config
from mmtl.config.strategies import apply_strategy
from mmtl.utils.errors import ConfigError


def test_a_partial_ft_fragment_of_another_family_is_refused_in_one_line():
    cfg = load_config('configs/_base_/models/resnet18.py')
    with pytest.raises(ConfigError, match='mobilenet_v2'):
        apply_strategy(cfg, 'partial-ft', 'mobilenet_v2')
