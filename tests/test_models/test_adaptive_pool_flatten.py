"""AdaptivePoolFlatten pools each map of a backbone's output, in the form it was given."""

import torch

from mmtl.models.necks import AdaptivePoolFlatten


def test_a_tuple_of_maps_gives_a_tuple_of_flat_features():
    neck = AdaptivePoolFlatten(output_size=(2, 2))
    maps = (torch.randn(3, 4, 6, 6), torch.randn(3, 8, 5, 5))
    out = neck(maps)
    assert isinstance(out, tuple)
    assert [tuple(o.shape) for o in out] == [(3, 16), (3, 32)]


def test_a_single_map_is_pooled_whole_not_split_over_the_batch():
    # A custom backbone may return one tensor, as mmpretrain's own pooling necks accept.
    neck = AdaptivePoolFlatten(output_size=(2, 2))
    feature = torch.randn(4, 8, 6, 6)
    out = neck(feature)
    assert torch.equal(out, torch.nn.functional.adaptive_avg_pool2d(feature, 2).flatten(1))
