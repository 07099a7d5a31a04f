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
  (``LoadAndRandomResizedCrop``: reduced-scale JPEG decoding, flip folded in, fast IDCT).

Figures: images per CPU second with the pipeline in the main process (``num_workers=0``;
CPU time hardly moves when other processes share the cores, so these ratios are the steady
ones on a busy machine), and, with ``--workers N`` (full size: 2), images per wall-clock
second with N persistent workers. Each is the best of a few interleaved epochs.

Run: ``python benchmarks/bench_data_pipeline.py [--quick | --tiny] [--workers N]``.
"""

import os.path as osp
import time
from typing import Callable, Dict

import common  # noqa: I001  (puts the repository on sys.path)
import cv2
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

SIZES = {
    # name: (phone w, h, images per class), (small w, h, images per class), batch, rounds
    'tiny': dict(phone=(320, 240, 2), small=(64, 48, 2), batch=2, rounds=1, workers=0),
    'quick': dict(phone=(4000, 3000, 6), small=(500, 375, 48), batch=8, rounds=3, workers=0),
    'full': dict(phone=(4000, 3000, 24), small=(500, 375, 256), batch=32, rounds=3, workers=2),
}
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
#: Images per CPU-second of mmtl's default pipeline over stock mmpretrain's, per folder.
GOALS = {'phone': 2.5, 'small': 1.2}
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


def mmtl_preprocessor():
    """The data preprocessor of mmtl's base dataset config (``TransferDataPreprocessor``)."""
    from mmtl.config.load import load_config
    from mmtl.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmtl'):
        return MODELS.build(dict(load_config(CONFIG).data_preprocessor))


def mm_loader(dataset, batch: int, workers: int, preprocessor=None) -> Callable:
    """Batches of ``dataset`` through ``preprocessor`` (default: stock ``ClsDataPreprocessor``)."""
    from mmpretrain.models import ClsDataPreprocessor

    if preprocessor is None:
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


def mmpretrain_loader(folder: str, batch: int, workers: int, serialize: bool) -> Callable:
    from mmpretrain.datasets import CustomDataset

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = CustomDataset(
            data_root=folder, pipeline=stock_pipeline(), serialize_data=serialize
        )
    return mm_loader(dataset, batch, workers)


def mmtl_loader(folder: str, batch: int, workers: int, pipeline: list, serialize: bool) -> Callable:
    from mmtl.datasets import FolderDataset

    with DefaultScope.overwrite_default_scope('mmtl'):
        dataset = FolderDataset(
            data_root=folder, data_prefix='', pipeline=pipeline, serialize_data=serialize
        )
    return mm_loader(dataset, batch, workers, mmtl_preprocessor())


def epoch_rates(batches: Callable) -> Dict[str, float]:
    """One whole epoch: images per wall-clock second, and per CPU second of this process.

    The CPU figure counts the pipeline's own work only when it runs in this process
    (``num_workers=0``); it hardly moves when other processes share the cores, which makes
    it the steadier basis for ratios on a busy machine.
    """
    wall, cpu, images = time.perf_counter(), time.process_time(), 0
    for count in batches():
        images += count
    return {
        'wall': images / (time.perf_counter() - wall),
        'cpu': images / max(time.process_time() - cpu, 1e-9),
    }


def build_loaders(
    folder: str, batch: int, workers: int, serialize: bool = True
) -> Dict[str, Callable]:
    """The four pipelines over ``folder``, with the same DataLoader settings.

    ``serialize=False`` skips mmengine's data-list serialisation (and the full
    ``gc.collect()`` it runs, seconds in a big process): for smoke runs only.
    """
    unfused = [dict(type='LoadImage')] + stock_pipeline()[1:]
    from mmtl.config.load import load_config

    default = load_config(CONFIG).train_pipeline  # resolved: sizes follow input_size
    return {
        'torchvision': torchvision_loader(folder, batch, workers),
        'mmpretrain': mmpretrain_loader(folder, batch, workers, serialize),
        'mmtl LoadImage': mmtl_loader(folder, batch, workers, unfused, serialize),
        'mmtl default': mmtl_loader(folder, batch, workers, default, serialize),
    }


def best_rates(loaders: Dict[str, Callable], key: str, rounds: int) -> Dict[str, float]:
    """Best of ``rounds`` interleaved epochs of each loader (the first round also starts
    persistent workers, so ``rounds`` >= 2 gives steady-state figures)."""
    funcs = {name: (lambda b=b: -epoch_rates(b)[key]) for name, b in loaders.items()}
    return {name: -value for name, value in common.interleaved_best(funcs, rounds).items()}


def measure_folder(
    folder: str, batch: int, workers: int, rounds: int, serialize: bool = True
) -> Dict[str, dict]:
    """Per pipeline: images per CPU second (in-process), and images/s with ``workers``."""
    loaders = build_loaders(folder, batch, 0, serialize)
    rates = {'images_per_cpu_s': best_rates(loaders, 'cpu', rounds)}
    if workers > 0:
        loaders = build_loaders(folder, batch, workers, serialize)
        rates['images_per_s'] = best_rates(loaders, 'wall', rounds)
    return rates


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
        rates = measure_folder(
            folder, size['batch'], workers, size['rounds'], serialize=args.size != 'tiny'
        )
        record = {'image_size': [width, height], 'images': 2 * per_class}
        for metric, values in rates.items():
            stock = values['mmpretrain']
            record[metric] = values
            record[f'{metric}_ratio_to_mmpretrain'] = {
                name: common.ratio(value, stock) for name, value in values.items()
            }
        result['folders'][kind] = record
        for name in rates['images_per_cpu_s']:
            row = [f'{kind} {width}x{height}', name]
            for metric in rates:
                row += [record[metric][name], record[f'{metric}_ratio_to_mmpretrain'][name]]
            rows.append(row)
    headers = ['folder', 'pipeline', 'images / CPU s (0 workers)', 'x mmpretrain']
    if workers > 0:
        headers += [f'images/s ({workers} workers)', 'x mmpretrain']
    table = common.format_table(headers, rows)
    cpu = 'images_per_cpu_s_ratio_to_mmpretrain'
    result['goals'] = {
        f'{kind} photos, mmtl default / mmpretrain (per CPU-s)': common.goal(
            result['folders'][kind][cpu]['mmtl default'], target
        )
        for kind, target in GOALS.items()
    }
    table += '\n\n' + common.goal_table('goal (#16 data pipeline)', result['goals'])
    common.write_result(args.out, 'data_pipeline', result, table)
    return result


if __name__ == '__main__':
    main()
