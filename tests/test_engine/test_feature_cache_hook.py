"""FeatureCacheHook in real (tiny) runs: same training as without it for the test-time view,
a disk store reused and invalidated, the exact probe's checkpoint read by the normal tools."""

import glob
import os.path as osp

import pytest
import torch
from mmtl_testing import REPO_ROOT

from mmtl.engine.hooks import FeatureCacheHook

pytestmark = pytest.mark.slow  # tiny trainings, 20-40 s each on 2 cores

DIGITS = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
TEST_VIEW = [
    dict(type='LoadImage'),
    dict(type='Resize', scale='auto', interpolation='bicubic'),
    dict(type='PackInputs'),
]


def config(data_root, work_dir, hooks=(), epochs=2, **options):
    from mmtl.config.load import load_config
    from mmtl.config.resolve import DATALOADER_KEYS

    base = {
        'data_root': data_root,
        'work_dir': str(work_dir),
        'log_level': 'WARNING',
        'model.head.num_classes': 3,
        'model.head.topk': (1,),
        'val_evaluator.topk': (1,),
        'input_size': 16,
        'train_cfg.max_epochs': epochs,
        'train_dataloader.batch_size': 4,
        'randomness.seed': 0,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
        'model.type': 'TransferClassifier',
        'model.frozen_modules': ['backbone'],
        'optim_wrapper.optimizer.lr': 0.05,
    }
    for loader in DATALOADER_KEYS:
        base[f'{loader}.num_workers'] = 0
        base[f'{loader}.persistent_workers'] = False
    base.update(options)
    cfg = load_config(DIGITS, base)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + list(hooks)
    return cfg


def train(cfg):
    from mmtl.apis.runner_setup import build_runner

    runner = build_runner(cfg)
    runner.train()
    return runner


def cache_hook(runner) -> FeatureCacheHook:
    return next(h for h in runner.hooks if isinstance(h, FeatureCacheHook))


def test_cached_run_trains_the_head_as_the_uncached_run_on_the_test_view(tmp_path, tiny_digits):
    """The train pipeline is the test-time view: with the cache the head ends where it ends
    without (same sampler order, same gradients)."""
    plain = train(
        config(
            tiny_digits,
            tmp_path / 'plain',
            **{'train_pipeline': TEST_VIEW, 'train_dataloader.dataset.pipeline': TEST_VIEW},
        )
    )
    cached = train(
        config(
            tiny_digits,
            tmp_path / 'cached',
            [dict(type='FeatureCacheHook')],
            **{'train_pipeline': TEST_VIEW, 'train_dataloader.dataset.pipeline': TEST_VIEW},
        )
    )
    hook = cache_hook(cached)
    assert hook.cut == 'neck' and hook.extracted and len(hook.labels) == 12
    head_plain = plain.model.head.fc.weight
    assert not torch.equal(head_plain, cached.model.head.fc.weight.new_zeros(head_plain.shape))
    torch.testing.assert_close(cached.model.head.fc.weight, head_plain, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        cached.model.head.fc.bias, plain.model.head.fc.bias, rtol=1e-4, atol=1e-5
    )
    # The backbone came out bit-identical (frozen) and images serve validation again.
    assert cached.train_loop.dataloader is hook._image_loader


def test_disk_store_is_reused_and_a_changed_image_invalidates_it(tmp_path, tiny_digits):
    import shutil

    store = dict(type='FeatureCacheHook', store='disk', cache_dir=str(tmp_path / 'features'))
    first = cache_hook(train(config(tiny_digits, tmp_path / 'a', [store], epochs=1)))
    again = cache_hook(train(config(tiny_digits, tmp_path / 'b', [store], epochs=1)))
    assert first.extracted and not again.extracted and again.key == first.key
    # Another image under the same name: a new key, extracted again.
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_digits, data)
    one, other = sorted(glob.glob(osp.join(data, 'train', '0', '*.png')))[:2]
    shutil.copy(other, one)
    changed = cache_hook(train(config(data, tmp_path / 'c', [store], epochs=1)))
    assert changed.extracted and changed.key != first.key


def test_exact_probe_checkpoint_loads_with_the_normal_tools(tmp_path, tiny_digits):
    from mmtl.apis import init_model
    from mmtl.config.strategies import load_strategy

    fragment = load_strategy('exact-probe')
    hooks = fragment.pop('custom_hooks')
    options = {'test_dataloader.dataset.data_prefix': 'val'}
    cfg = config(tiny_digits, tmp_path / 'probe', hooks, **options)
    cfg.merge_from_dict(fragment)
    runner = train(cfg)
    assert runner.epoch == 0  # no epoch trained: the model is the probe
    path = osp.join(str(tmp_path / 'probe'), 'exact_probe.pth')
    weight = runner.model.head.fc.weight.detach().clone()
    assert not torch.equal(weight, init_model(DIGITS).head.fc.weight)  # not the random init
    torch.testing.assert_close(init_model(path).head.fc.weight, weight)
    # The test loop with load_from (as tools/test.py runs it) scores the saved probe as the
    # model that was fitted.
    fitted = runner.test()['accuracy/top1']
    tester = config(tiny_digits, tmp_path / 'test', **options)
    tester.load_from = path
    from mmtl.apis.runner_setup import build_runner

    assert build_runner(tester).test()['accuracy/top1'] == pytest.approx(fitted)


def test_a_store_that_does_not_fit_is_refused_before_it_is_filled(
    tmp_path, tiny_digits, monkeypatch
):
    from mmtl.utils import fileio
    from mmtl.utils.errors import ConfigError

    monkeypatch.setattr(fileio, 'available_memory', lambda: 1000)
    filled = []
    monkeypatch.setattr(FeatureCacheHook, '_extract', lambda *args: filled.append(1))
    with pytest.raises(ConfigError, match=r"store='ram' needs 0 MiB .* only 0 MiB of memory"):
        train(config(tiny_digits, tmp_path / 'wd', [dict(type='FeatureCacheHook', views=2)]))
    assert filled == []
