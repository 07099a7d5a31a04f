"""FolderDataset(cache='ram'|'disk'): same augmented outputs, shared by workers, bounded."""

import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

from mmtl.datasets import FolderDataset
from mmtl.utils import fileio
from mmtl.utils.errors import BadDataError, ConfigError


@pytest.fixture(scope='module')
def photo_root(tmp_path_factory) -> str:
    """Two classes of 200 x 150 textured JPEGs (large enough for reduced-scale decoding)."""
    root = str(tmp_path_factory.mktemp('cache_photos'))
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for name in ('a', 'b'):
            os.makedirs(osp.join(root, split, name))
            for i in range(4):
                base = cv2.resize(rng.integers(0, 255, (15, 20, 3), dtype=np.uint8), (200, 150))
                cv2.imwrite(osp.join(root, split, name, f'{i}.jpg'), base)
    return root


UNFUSED = [
    dict(type='LoadImage'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
FUSED = [dict(type='LoadAndRandomResizedCrop', scale=32, flip_prob=0.5)]


def _dataset(root, pipeline, split='train', **kwargs) -> FolderDataset:
    with DefaultScope.overwrite_default_scope('mmtl'):
        return FolderDataset(
            data_root=root, data_prefix=split, pipeline=pipeline, scan_cache=False, **kwargs
        )


def _epoch(dataset, seed):
    np.random.seed(seed)
    return [dataset[i] for i in range(len(dataset))]


def test_unfused_pipeline_outputs_identical_with_ram_cache(photo_root):
    plain, cached = _dataset(photo_root, UNFUSED), _dataset(photo_root, UNFUSED, cache='ram')
    for seed in (0, 1):  # epoch 1 fills the cache, epoch 2 reads it
        for a, b in zip(_epoch(plain, seed), _epoch(cached, seed)):
            assert a['flip'] == b['flip']
            np.testing.assert_array_equal(a['img'], b['img'])
    assert cached.image_cache.filled() == list(range(len(cached)))


def test_fused_pipeline_with_cache_gives_the_stock_pipelines_outputs(photo_root):
    """Cached, LoadAndRandomResizedCrop crops the full decode as stock RandomResizedCrop +
    RandomFlip do: the same draws, the same pixels (uncached, its reduced-scale decoding
    differs from stock by a little interpolation)."""
    stock, cached = _dataset(photo_root, UNFUSED), _dataset(photo_root, FUSED, cache='ram')
    for seed in (0, 1):
        for a, b in zip(_epoch(stock, seed), _epoch(cached, seed)):
            assert a['flip'] == b['flip']
            np.testing.assert_array_equal(np.ascontiguousarray(a['img']), b['img'])
    plain = _dataset(photo_root, FUSED)
    differ = [
        not np.array_equal(a['img'], b['img']) for a, b in zip(_epoch(plain, 2), _epoch(cached, 2))
    ]
    assert any(differ)  # the comparison above can fail: reduced decoding is not stock


def test_workers_share_the_cache_and_do_not_decode_again(photo_root, tmp_path):
    import shutil

    root = str(tmp_path / 'copy')
    shutil.copytree(photo_root, root)
    dataset = _dataset(root, UNFUSED, cache='ram')
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=pseudo_collate)
    first = sum(len(batch['img']) for batch in loader)  # workers decode and fill
    assert first == len(dataset)
    # Filled by the workers, seen by this process: one shared buffer, not per-worker copies.
    assert dataset.image_cache.filled() == list(range(len(dataset)))
    for info in (dataset.get_data_info(i) for i in range(len(dataset))):
        os.remove(info['img_path'])  # decoding again would now fail
    second = [batch for batch in loader]
    assert sum(len(batch['img']) for batch in second) == len(dataset)


def test_memory_bound_refused_before_decoding(photo_root, monkeypatch):
    monkeypatch.setattr(fileio, 'available_memory', lambda: 1000)
    with pytest.raises(ConfigError) as info:
        _dataset(photo_root, UNFUSED, cache='ram')
    message = str(info.value)
    assert '\n' not in message and 'train' in message and "cache='disk'" in message
    needed = 8 * ((200 * 150 * 3 + 63) // 64 * 64) + 8  # 64-byte aligned, 1 flag each
    assert f'({needed} bytes)' in message and '1000 bytes' in message


def test_disk_cache_reused_and_invalidated_by_mtime(photo_root, tmp_path):
    first = _dataset(photo_root, UNFUSED, cache='disk', cache_dir=str(tmp_path))
    _epoch(first, 0)
    again = _dataset(photo_root, UNFUSED, cache='disk', cache_dir=str(tmp_path))
    assert again.image_cache.path == first.image_cache.path
    assert again.image_cache.filled() == list(range(len(again)))
    path = again.get_data_info(0)['img_path']
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = _dataset(photo_root, UNFUSED, cache='disk', cache_dir=str(tmp_path))
    assert changed.image_cache.path != first.image_cache.path
    assert changed.image_cache.filled() == []


def test_eval_split_with_cache_never_substitutes_a_bad_file(photo_root, tmp_path):
    import shutil

    root = str(tmp_path / 'copy')
    shutil.copytree(photo_root, root)
    dataset = _dataset(root, UNFUSED, split='val', cache='ram')
    path = dataset.get_data_info(1)['img_path']
    with open(path, 'r+b') as f:
        f.truncate(100)  # goes bad after the scan, before it was cached
    dataset[0]
    with pytest.raises(BadDataError, match=osp.basename(path)):
        dataset[1]


def test_cache_needs_an_mmtl_loader_and_a_known_mode(photo_root):
    with pytest.raises(ConfigError, match='LoadImage'):
        _dataset(photo_root, [dict(type='mmpretrain.LoadImageFromFile')], cache='ram')
    with pytest.raises(ConfigError, match="cache='gpu'"):
        _dataset(photo_root, UNFUSED, cache='gpu')


def test_torch_seeded_loader_unchanged(photo_root):
    """Sanity of the comparison above: different seeds do give different crops."""
    torch.manual_seed(0)
    cached = _dataset(photo_root, UNFUSED, cache='ram')
    a, b = _epoch(cached, 0), _epoch(cached, 1)
    assert any(not np.array_equal(x['img'], y['img']) for x, y in zip(a, b))


def test_cache_keys_pass_the_config_key_checks():
    from mmtl.config.check_keys import accepted_keys

    assert {'cache', 'cache_dir'} <= accepted_keys(FolderDataset)


def test_pickled_cache_disk_reopens_shared_file_ram_refuses(photo_root, tmp_path):
    import pickle

    disk = _dataset(photo_root, UNFUSED, cache='disk', cache_dir=str(tmp_path))
    copy = pickle.loads(pickle.dumps(disk.image_cache))
    disk[0]  # filled through the original: the copy sees the same file
    assert copy.filled() == [0]
    ram = _dataset(photo_root, UNFUSED, cache='ram')
    with pytest.raises(ConfigError, match="cache='disk'"):
        pickle.dumps(ram.image_cache)


@pytest.mark.slow
def test_training_through_train_py_is_the_same_with_the_ram_cache(digits_root, tmp_path):
    """The config key as a user sets it: two forked workers, same seed -> the same losses."""
    import json
    import sys

    from mmtl_testing import REPO_ROOT, describe, run_command

    losses = {}
    for cache in ('None', 'ram'):
        work_dir = str(tmp_path / f'cache_{cache}')
        result = run_command(
            [
                sys.executable,
                osp.join(REPO_ROOT, 'tools', 'train.py'),
                osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'),
                '--work-dir',
                work_dir,
                '--cfg-options',
                f'data_root={digits_root}',
                'model.head.num_classes=3',
                'train_cfg.max_epochs=2',
                f'train_dataloader.dataset.cache={cache}',
                'train_dataloader.num_workers=2',
                'val_dataloader.num_workers=0',
                'randomness.seed=0',
                f'experiment_name=cache_{cache}',
            ],
            cwd=str(tmp_path),
        )
        assert result.returncode == 0, describe(result)
        (scalars,) = [
            osp.join(root, name)
            for root, _, names in os.walk(work_dir)
            for name in names
            if name == 'scalars.json'
        ]
        with open(scalars) as f:
            losses[cache] = [json.loads(line)['loss'] for line in f if '"loss"' in line]
    assert len(losses['ram']) >= 2
    assert losses['ram'] == pytest.approx(losses['None'], rel=1e-5)
