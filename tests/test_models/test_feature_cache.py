"""The frozen-prefix cut: cached and uncached forwards give the same head gradients; the key
of a stored feature set changes with the weights, the cut and the images; the exact probe."""

import os

import pytest
import torch
from mmengine.registry import init_default_scope

from mmtl.engine.hooks.feature_cache_hook import shard_indices
from mmtl.models.feature_cache import features_as_inputs, find_cut, prefix_digest, run_prefix
from mmtl.models.probe_solver import fit_linear_probe
from mmtl.utils.fileio import files_key

RESNET18 = dict(type='ResNet', depth=18, stem_channels=16, base_channels=16, out_indices=(3,))
VIT = dict(
    type='VisionTransformer',
    arch=dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64),
    img_size=32,
    patch_size=8,
    out_type='cls_token',
)
#: (backbone, head in_channels, frozen modules, expected cut)
CASES = {
    'mobilenet-v2 linear probe': (dict(type='MobileNetV2'), 1280, ['backbone'], 'neck'),
    'mobilenet-v2 partial': (
        dict(type='MobileNetV2'),
        1280,
        ['backbone.conv1', 'backbone.layer1', 'backbone.layer2', 'backbone.layer3'],
        'backbone.layer3',
    ),
    'resnet-18 partial': (
        RESNET18,
        128,
        ['backbone.conv1', 'backbone.bn1', 'backbone.layer1', 'backbone.layer2'],
        'backbone.layer2',
    ),
    'vit 2 of 4 blocks': (
        VIT,
        32,
        ['backbone.patch_embed', 'backbone.layers.0', 'backbone.layers.1'],
        'backbone.layers.1',
    ),
}


def build(backbone, in_channels, frozen):
    from mmtl.registry import MODELS

    init_default_scope('mmtl')
    torch.manual_seed(0)
    vit = backbone['type'] == 'VisionTransformer'
    model = MODELS.build(
        dict(
            type='TransferClassifier',
            frozen_modules=frozen,
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=[120.0] * 3, std=[60.0] * 3, to_rgb=True
            ),
            backbone=backbone,
            neck=None if vit else dict(type='GlobalAveragePooling'),
            head=dict(
                type='VisionTransformerClsHead' if vit else 'LinearClsHead',
                num_classes=3,
                in_channels=in_channels,
                loss=dict(type='CrossEntropyLoss'),
            ),
        )
    )
    if vit:  # the embedding's parameters belong to the prefix
        model.backbone.cls_token.requires_grad_(False)
        model.backbone.pos_embed.requires_grad_(False)
    model.train()
    return model


def batch(n=6, size=32):
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(1)
    images = [torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8)]
    images += [
        torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8)
        for _ in range(n - 1)
    ]
    samples = [DataSample().set_gt_label(i % 3) for i in range(n)]
    return {'inputs': images, 'data_samples': samples}


def head_grads(model):
    return {n: p.grad.clone() for n, p in model.head.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('case', CASES)
def test_cached_and_uncached_runs_give_the_same_head_gradients(case):
    backbone, in_channels, frozen, expected = CASES[case]
    model = build(backbone, in_channels, frozen)
    cut = find_cut(model)
    assert cut == expected
    data = model.data_preprocessor(batch(), False)  # the test-time view: no batch augments
    model.zero_grad()
    loss = model.loss(data['inputs'], data['data_samples'])['loss']
    loss.backward()
    uncached = head_grads(model)

    stored = run_prefix(model, data['inputs'], cut)
    model.zero_grad()
    with features_as_inputs(model, cut):
        fed = model.data_preprocessor(
            {'inputs': list(stored), 'data_samples': data['data_samples']}, True
        )
        cached_loss = model.loss(fed['inputs'], fed['data_samples'])['loss']
        cached_loss.backward()
    cached = head_grads(model)
    assert set(cached) == set(uncached) and uncached
    assert torch.allclose(cached_loss, loss, rtol=1e-5, atol=1e-6)
    for name in uncached:
        assert torch.allclose(cached[name], uncached[name], rtol=1e-4, atol=1e-6), name
    # The context restored the model: a forward on images works again.
    assert 'extract_feat' not in vars(model) and 'forward' not in vars(model.data_preprocessor)
    model.loss(data['inputs'], data['data_samples'])


def test_no_cut_when_nothing_or_the_wrong_part_is_frozen():
    assert find_cut(build(dict(type='MobileNetV2'), 1280, [])) is None
    # The top stages frozen, the stem training: no frozen prefix.
    assert find_cut(build(dict(type='MobileNetV2'), 1280, ['backbone.layer7'])) is None
    # A frozen module back in train mode (BatchNorm statistics move): not frozen.
    model = build(dict(type='MobileNetV2'), 1280, ['backbone'])
    model.backbone.layer3[0].conv[0].bn.train()
    assert find_cut(model) == 'backbone.layer2'


def test_a_changed_checkpoint_cut_or_image_changes_the_cache_key(tmp_path):
    frozen = ['backbone.conv1', 'backbone.layer1', 'backbone.layer2']
    model = build(dict(type='MobileNetV2'), 1280, frozen)
    image = tmp_path / 'a.png'
    image.write_bytes(b'one')
    ids = [str(image)]
    base = files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views')
    assert files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views') == base
    # Another cut.
    assert files_key(ids, prefix_digest(model, 'backbone.layer1'), 'views') != base
    # Other views.
    assert files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views2') != base
    # Another checkpoint: one weight of the prefix, or a BatchNorm statistic.
    with torch.no_grad():
        model.backbone.layer7[0].conv[0].conv.weight.add_(1.0)  # after the cut: same key
    assert files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views') == base
    with torch.no_grad():
        model.backbone.layer2[0].conv[0].bn.running_mean.add_(1.0)
    moved = files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views')
    assert moved != base
    # Another image under the same name.
    image.write_bytes(b'other')
    os.utime(image, ns=(1, 1))
    assert files_key(ids, prefix_digest(model, 'backbone.layer2'), 'views') != moved


def test_shards_are_those_of_the_default_sampler():
    # 10 images, 4 ranks: padded to 12, every 4th.
    shards = [shard_indices(10, rank, 4) for rank in range(4)]
    assert shards == [[0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1]]
    assert shard_indices(5, 0, 1) == [0, 1, 2, 3, 4]


def test_exact_probe_is_the_logistic_regression_optimum():
    from sklearn.linear_model import LogisticRegression

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(300, 20, generator=gen)
    y = (z[:, :3] @ torch.randn(3, 4, generator=gen) + torch.randn(300, 4, generator=gen)).argmax(1)
    x = z * torch.linspace(0.5, 5, 20) + 3  # raw features: other scales, an offset
    fit = fit_linear_probe(x, y, 4, x[:100], y[:100], weight_decays=(1e-2,))
    assert fit.weight_decay == 1e-2 and fit.weight.shape == (4, 20)
    # sklearn on the same standardised features: C = 1 / (weight decay * N).
    mean, std = x.double().mean(0), x.double().std(0, unbiased=False) + 1e-6
    xs = ((x.double() - mean) / std).numpy()
    ref = LogisticRegression(C=1 / (1e-2 * len(x)), tol=1e-10, max_iter=5000).fit(xs, y.numpy())
    ours = torch.softmax(x.double() @ fit.weight.double().T + fit.bias.double(), 1)
    assert torch.allclose(ours, torch.from_numpy(ref.predict_proba(xs)), atol=1e-4)


def test_exact_probe_picks_the_weight_decay_with_the_best_val_top1():
    gen = torch.Generator().manual_seed(0)
    # Few noisy training points in many dimensions: the weight decay matters on val.
    x = torch.randn(240, 100, generator=gen)
    y = (x[:, :5].sum(1) + 2 * torch.randn(240, generator=gen) > 0).long()
    grid = (1e-4, 1e-2, 1.0, 10.0)
    scores = {
        wd: fit_linear_probe(x[:40], y[:40], 2, x[40:], y[40:], weight_decays=(wd,)).val_top1
        for wd in grid
    }
    fit = fit_linear_probe(x[:40], y[:40], 2, x[40:], y[40:], weight_decays=grid)
    best = max(scores.values())
    assert len(set(scores.values())) > 1  # the grid matters here
    assert fit.val_top1 == pytest.approx(best, abs=0.6)
    assert fit.weight_decay == max(wd for wd in grid if scores[wd] >= best - 0.6)
    with pytest.raises(ValueError, match='labels outside'):
        fit_linear_probe(x[:4], torch.tensor([0, 1, 2, 1]), 2)
