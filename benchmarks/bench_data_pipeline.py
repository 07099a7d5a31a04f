"""Training data pipeline throughput: mmtl vs stock mmpretrain vs torchvision, images/s.

All pipelines read the same JPEG folders with the same DataLoader settings (workers, batch,
shuffling) and produce the same thing: a normalised float batch of 224 x 224 random
resized crops, randomly flipped. mmtl and mmpretrain normalise in their data preprocessor
(run here on each batch, as the model would); torchvision normalises in its transforms.

Rows:
- ``torchvision``: ``ImageFolder`` + RandomResizedCrop, RandomHorizontalFlip, ToTensor,
  Normalize (Pillow decoding).
- ``mmpretrain``: stock ``CustomDataset`` with LoadImageFromFile, RandomResizedCrop,
  RandomFlip, PackInputs (what mmtl's base config used before).
- ``mmtl LoadImage``: mmtl's loader at full size + the stock crop (the colour-mode and EXIF
  handling alone).
- ``mmtl default``: the train pipeline of ``configs/_base_/datasets/image_folder_224.py``
  (``LoadAndRandomResizedCrop``: reduced-scale JPEG decoding).

Run: ``python benchmarks/bench_data_pipeline.py [--quick | --tiny]``.
"""

import os.path as osp
import time
from typing import Callable, Dict

import common  # noqa: I001  (puts the repository on sys.path)
import cv2
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

SIZES = {
    # name: (phone w, h, images per class), (small w, h, images per class), batch, rounds
    'tiny': dict(phone=(320, 240, 2), small=(64, 48, 2), batch=2, rounds=1, workers=0),
    'quick': dict(phone=(4000, 3000, 6), small=(500, 375, 48), batch=8, rounds=3, workers=2),
    'full': dict(phone=(4000, 3000, 24), small=(500, 375, 256), batch=32, rounds=3, workers=2),
}
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
CONFIG = osp.join(common.REPO_ROOT, 'configs', '_base_', 'datasets', 'image_folder_224.py')


def _loader(dataset, batch: int, workers: int, collate) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )


def torchvision_loader(folder: str, batch: int, workers: int) -> Callable:
    from torchvision import datasets, transforms

    tfm = transforms.Compose(
        [
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([m / 255 for m in MEAN], [s / 255 for s in STD]),
        ]
    )
    loader = _loader(datasets.ImageFolder(folder, tfm), batch, workers, None)
    return lambda: ((images.shape[0]) for images, _ in loader)


def mm_loader(dataset, batch: int, workers: int) -> Callable:
    from mmpretrain.models import ClsDataPreprocessor

    preprocessor = ClsDataPreprocessor(mean=MEAN, std=STD, to_rgb=True)
    loader = _loader(dataset, batch, workers, pseudo_collate)

    def batches():
        for data in loader:
            yield preprocessor(data, training=True)['inputs'].shape[0]

    return batches


def stock_pipeline() -> list:
    return [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=224),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]


def mmpretrain_loader(folder: str, batch: int, workers: int) -> Callable:
    from mmpretrain.datasets import CustomDataset

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = CustomDataset(data_root=folder, pipeline=stock_pipeline())
    return mm_loader(dataset, batch, workers)


def mmtl_loader(folder: str, batch: int, workers: int, pipeline: list) -> Callable:
    from mmtl.datasets import FolderDataset

    with DefaultScope.overwrite_default_scope('mmtl'):
        dataset = FolderDataset(data_root=folder, data_prefix='', pipeline=pipeline)
    return mm_loader(dataset, batch, workers)


def throughput(batches: Callable) -> float:
    """Images/s over one whole epoch (persistent workers: started by the first round)."""
    start, images = time.perf_counter(), 0
    for count in batches():
        images += count
    return images / (time.perf_counter() - start)


def measure_folder(folder: str, batch: int, workers: int, rounds: int) -> Dict[str, float]:
    """images/s of each pipeline on ``folder``: best of ``rounds`` epochs, interleaved; the
    first round also starts the workers, so ``rounds`` >= 2 for steady-state figures."""
    unfused = [dict(type='LoadImage')] + stock_pipeline()[1:]
    default = Config.fromfile(CONFIG).train_pipeline
    loaders = {
        'torchvision': torchvision_loader(folder, batch, workers),
        'mmpretrain': mmpretrain_loader(folder, batch, workers),
        'mmtl LoadImage': mmtl_loader(folder, batch, workers, unfused),
        'mmtl default': mmtl_loader(folder, batch, workers, default),
    }
    funcs = {name: (lambda b=b: -throughput(b)) for name, b in loaders.items()}
    best = common.interleaved_best(funcs, rounds)
    return {name: -value for name, value in best.items()}


def main(argv=None) -> dict:
    args = common.parse_args('data_pipeline', __doc__.splitlines()[0], argv)
    # As mmengine's env_cfg does: no OpenCV thread pool, which would deadlock forked workers.
    cv2.setNumThreads(0)
    size = SIZES[args.size]
    workers = size['workers'] if args.workers is None else args.workers
    result = {'size': args.size, 'workers': workers, 'batch': size['batch'], 'folders': {}}
    rows = []
    for kind in ('phone', 'small'):
        width, height, per_class = size[kind]
        folder = common.make_jpeg_folder(
            osp.join(args.data_dir, f'jpeg_{width}x{height}_{per_class}'), width, height, per_class
        )
        batch = size['batch']
        ips = measure_folder(folder, batch, workers, size['rounds'])
        stock = ips['mmpretrain']
        ratios = {name: common.ratio(value, stock) for name, value in ips.items()}
        result['folders'][kind] = {
            'image_size': [width, height],
            'images': 2 * per_class,
            'images_per_s': ips,
            'ratio_to_mmpretrain': ratios,
        }
        for name, value in ips.items():
            rows.append([f'{kind} {width}x{height}', name, value, ratios[name]])
    table = common.format_table(
        ['folder', 'pipeline', 'images/s', 'x mmpretrain'],
        rows,
    )
    common.write_result(args.out, 'data_pipeline', result, table)
    return result


if __name__ == '__main__':
    main()
