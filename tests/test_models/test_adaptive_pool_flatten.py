"""AdaptivePoolFlatten pools each map of a backbone's output into flat features."""

import torch
from mmpretrain.models.heads import LinearClsHead

from mmtl.models.necks import AdaptivePoolFlatten


def test_a_tuple_of_maps_gives_a_tuple_of_flat_features():
    neck = AdaptivePoolFlatten(output_size=(2, 2))
    maps = (torch.randn(3, 4, 6, 6), torch.randn(3, 8, 5, 5))
    out = neck(maps)
    assert isinstance(out, tuple)
    assert [tuple(o.shape) for o in out] == [(3, 16), (3, 32)]


def test_a_single_map_scores_every_image_of_the_batch():
    # A custom backbone may return one tensor; the head must still score all 4 images, not
    # take the last image's features as the whole batch.
    neck = AdaptivePoolFlatten(output_size=(2, 2))
    feature = torch.randn(4, 8, 6, 6)
    (pooled,) = neck(feature)
    assert torch.equal(pooled, torch.nn.functional.adaptive_avg_pool2d(feature, 2).flatten(1))
    head = LinearClsHead(num_classes=3, in_channels=32)
    assert tuple(head(neck(feature)).shape) == (4, 3)
