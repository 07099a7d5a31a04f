"""Epochs after the first: images per CPU second with ``FolderDataset(cache='ram'|'disk')``.

The same small photos (500 x 375 JPEGs made from scikit-learn's sample photos), the same
DataLoader settings and the same output (a normalised batch of 224 x 224 random resized
crops, randomly flipped) as ``bench_data_pipeline.py``, whose loaders this reuses. Each
loader first runs one epoch (which fills the caches); then epochs 2+ are timed, interleaved,
best of a few, in CPU seconds of this process (``num_workers=0``: the pipeline runs here).

Rows: stock ``mmpretrain``; ``mmtl default`` (the base config's train pipeline and data
preprocessor, no cache); the same with ``cache='ram'`` and ``cache='disk'``, and
``cache='ram'`` through stock mmpretrain's ``ClsDataPreprocessor`` (what mmtl's own
preprocessor adds). Ratios are to stock mmpretrain, in the same run.

Run: ``python benchmarks/bench_cache.py [--quick | --tiny]``.
"""

import os.path as osp
import tempfile
from typing import Callable, Dict

import bench_data_pipeline as pipe
import common  # noqa: I001  (puts the repository on sys.path)
import cv2
from mmengine.registry import DefaultScope

#: Epochs 2+ with a cache: images per CPU-second over stock mmpretrain's.
GOAL = 3.0

SIZES = {
    # (w, h, images per class), batch, timed rounds of epochs 2+
    'tiny': dict(small=(64, 48, 2), batch=2, rounds=1),
    'quick': dict(small=(500, 375, 48), batch=8, rounds=3),
    'full': dict(small=(500, 375, 256), batch=32, rounds=3),
}


def mmtl_cached_loader(
    folder: str, batch: int, pipeline: list, stock_preprocessor: bool = False, **cache
) -> Callable:
    """mmtl's ``FolderDataset`` with the cache options ``cache`` (``cache``, ``cache_dir``),
    through mmtl's data preprocessor (or stock mmpretrain's)."""
    from mmtl.datasets import FolderDataset

    with DefaultScope.overwrite_default_scope('mmtl'):
        dataset = FolderDataset(data_root=folder, data_prefix='', pipeline=pipeline, **cache)
    preprocessor = None if stock_preprocessor else pipe.mmtl_preprocessor()
    return pipe.mm_loader(dataset, batch, 0, preprocessor)


def build_loaders(folder: str, batch: int, cache_dir: str) -> Dict[str, Callable]:
    """Stock mmpretrain, and mmtl's default pipeline without and with a cache."""
    from mmtl.config.load import load_config

    default = load_config(pipe.CONFIG).train_pipeline
    return {
        'mmpretrain': pipe.mmpretrain_loader(folder, batch, 0, serialize=True),
        'mmtl default': mmtl_cached_loader(folder, batch, default),
        "mmtl cache='ram'": mmtl_cached_loader(folder, batch, default, cache='ram'),
        "mmtl cache='ram', stock preprocessor": mmtl_cached_loader(
            folder, batch, default, stock_preprocessor=True, cache='ram'
        ),
        "mmtl cache='disk'": mmtl_cached_loader(
            folder, batch, default, cache='disk', cache_dir=cache_dir
        ),
    }


def main(argv=None) -> dict:
    args = common.parse_args('cache', __doc__.splitlines()[0], argv)
    cv2.setNumThreads(0)
    size = SIZES[args.size]
    width, height, per_class = size['small']
    folder = common.make_jpeg_folder(
        osp.join(args.data_dir, f'jpeg_{width}x{height}_{per_class}'), width, height, per_class
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        loaders = build_loaders(folder, size['batch'], cache_dir)
        for batches in loaders.values():  # epoch 1: fills the caches
            pipe.epoch_rates(batches)
        rates = pipe.best_rates(loaders, 'cpu', size['rounds'])
    stock = rates['mmpretrain']
    ratios = {name: common.ratio(value, stock) for name, value in rates.items()}
    rows = [[name, rates[name], ratios[name]] for name in rates]
    table = common.format_table(
        [f'pipeline ({width}x{height}, epochs 2+)', 'images / CPU s', 'x mmpretrain'], rows
    )
    goals = {
        f'{name} / mmpretrain (per CPU-s)': common.goal(ratios[name], GOAL)
        for name in ("mmtl cache='ram'", "mmtl cache='disk'")
    }
    table += '\n\n' + common.goal_table('goal (#16 epochs 2+)', goals)
    result = {
        'goals': goals,
        'size': args.size,
        'image_size': [width, height],
        'images': 2 * per_class,
        'batch': size['batch'],
        'images_per_cpu_s': rates,
        'ratio_to_mmpretrain': ratios,
    }
    common.write_result(args.out, 'cache', result, table)
    return result


if __name__ == '__main__':
    main()
