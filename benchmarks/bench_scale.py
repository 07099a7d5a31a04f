"""Scale: dataset scan time and memory from 1k to 100k files, and training time per epoch.

Scan: folders of N tiny (valid, 8 x 8) JPEG files in 10 class folders. Timed: mmtl's
``list_image_files`` over the folder, and building a ``FolderDataset`` (listing, labels, the
serialised data list; plus whatever checks the dataset runs on each file). Memory: the peak of
Python allocations while the dataset is built (tracemalloc, in a separate run so it does not
slow the timed one) and the size of the data list it keeps, both per file: flat per file means
memory grows linearly with N.

Training: mmtl's Runner with ``configs/mobilenet-v2_digits.py`` (MobileNet-v2 at 32 x 32) for
two epochs on N small photos, no validation, no checkpoint; the second epoch is timed (the
first one warms up). The time per epoch should grow linearly with N (constant per image).

Run: ``python benchmarks/bench_scale.py [--quick | --tiny]``.
"""

import gc
import io
import os
import os.path as osp
import tempfile
import time
import tracemalloc

import common  # noqa: I001  (puts the repository on sys.path)
import numpy as np

SIZES = {
    'tiny': dict(scan=[100, 1000], train=[12, 24], workers=0),
    'quick': dict(scan=[1000, 10000, 100000], train=[64, 128, 256], workers=0),
    'full': dict(scan=[1000, 10000, 100000], train=[128, 256, 512], workers=2),
}
CLASSES = 10


def tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new('RGB', (8, 8), (200, 30, 30)).save(buffer, format='JPEG')
    return buffer.getvalue()


def make_scan_folder(root: str, count: int) -> str:
    """``root/train/class_<c>/<i>.jpg``: ``count`` tiny JPEGs (made once, then reused)."""
    marker = osp.join(root, '.complete')
    if osp.isfile(marker):
        return root
    data = tiny_jpeg()
    for c in range(CLASSES):
        os.makedirs(osp.join(root, 'train', f'class_{c}'), exist_ok=True)
    for i in range(count):
        with open(osp.join(root, 'train', f'class_{i % CLASSES}', f'{i:06d}.jpg'), 'wb') as f:
            f.write(data)
    open(marker, 'w').close()
    return root


def build_dataset(root: str):
    from mmengine.registry import DefaultScope

    from mmtl.datasets import FolderDataset

    with DefaultScope.overwrite_default_scope('mmtl'):
        return FolderDataset(data_root=root, data_prefix='train', pipeline=[])


def measure_scan(root: str, count: int) -> dict:
    from mmtl.datasets import IMG_EXTENSIONS
    from mmtl.datasets.listing import list_image_files

    gc.collect()
    start = time.perf_counter()
    files = list_image_files(osp.join(root, 'train'), IMG_EXTENSIONS)
    list_s = time.perf_counter() - start
    assert len(files) == count, (len(files), count)

    gc.collect()
    start = time.perf_counter()
    dataset = build_dataset(root)
    build_s = time.perf_counter() - start
    assert len(dataset) == count
    kept = 0
    if getattr(dataset, 'serialize_data', False):
        kept = int(dataset.data_bytes.nbytes + dataset.data_address.nbytes)
    del dataset

    gc.collect()
    tracemalloc.start()
    dataset = build_dataset(root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del dataset
    return {
        'files': count,
        'list_s': list_s,
        'list_files_per_s': count / list_s,
        'dataset_s': build_s,
        'dataset_files_per_s': count / build_s,
        'peak_bytes_per_file': peak / count,
        'kept_bytes_per_file': kept / count,
    }


def write_photo_folder(root: str, per_class: int) -> None:
    """``root/{train,val,test}/<class>/*.png``: 3 classes of 32 x 32 photos told by colour."""
    import cv2

    rng = np.random.default_rng(0)
    colors = {'a': (40, 40, 200), 'b': (40, 220, 230), 'c': (60, 160, 60)}
    for split in ('train', 'val', 'test'):
        for name, color in colors.items():
            os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(per_class if split == 'train' else 2):
                noise = rng.integers(-40, 40, size=(32, 32, 3))
                img = np.clip(np.array(color)[None, None] + noise, 0, 255).astype(np.uint8)
                cv2.imwrite(osp.join(root, split, name, f'{i:05d}.png'), img)


def measure_epoch(images: int, workers: int, data_dir: str) -> dict:
    """Seconds for one training epoch of the digits config on ``images`` images."""
    from mmengine.hooks import Hook

    from mmtl.apis.runner_setup import build_runner, disable_validation
    from mmtl.config.load import load_config

    per_class = images // 3
    root = osp.join(data_dir, f'train_scale_{per_class}')
    if not osp.isdir(root):
        write_photo_folder(root, per_class)

    class EpochTimer(Hook):
        priority = 'LOWEST'

        def before_train_epoch(self, runner) -> None:
            self.start = time.perf_counter()

        def after_train_epoch(self, runner) -> None:
            self.seconds = time.perf_counter() - self.start  # the last epoch's is kept

    config = osp.join(common.REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    cfg = load_config(
        config,
        {
            'data_root': root,
            'train_cfg.max_epochs': 2,  # the first epoch warms up; the second is timed
            'train_dataloader.num_workers': workers,
            'train_dataloader.persistent_workers': workers > 0,
            'model.head.num_classes': 3,
            'log_level': 'WARNING',
            'default_hooks.checkpoint.interval': 1000,
            'default_hooks.checkpoint.save_best': None,
        },
    )
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.classes = ['a', 'b', 'c']
    disable_validation(cfg)
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        runner = build_runner(cfg)
        timer = EpochTimer()
        runner.register_hook(timer)
        runner.train()
    return {
        'images': 3 * per_class,
        'epoch_s': timer.seconds,
        'ms_per_image': timer.seconds / (3 * per_class) * 1e3,
    }


def main(argv=None) -> dict:
    args = common.parse_args('scale', __doc__.splitlines()[0], argv)
    size = SIZES[args.size]
    workers = size['workers'] if args.workers is None else args.workers
    scan = [
        measure_scan(make_scan_folder(osp.join(args.data_dir, f'scan_{n}'), n), n)
        for n in size['scan']
    ]
    train = [measure_epoch(n, workers, args.data_dir) for n in size['train']]
    result = {'size': args.size, 'workers': workers, 'scan': scan, 'train': train}
    scan_table = common.format_table(
        ['files', 'list files/s', 'FolderDataset files/s', 'peak B/file', 'kept B/file'],
        [
            [
                r['files'],
                r['list_files_per_s'],
                r['dataset_files_per_s'],
                r['peak_bytes_per_file'],
                r['kept_bytes_per_file'],
            ]
            for r in scan
        ],
    )
    train_table = common.format_table(
        ['train images', 's / epoch', 'ms / image'],
        [[r['images'], r['epoch_s'], r['ms_per_image']] for r in train],
    )
    common.write_result(args.out, 'scale', result, scan_table + '\n\n' + train_table)
    return result


if __name__ == '__main__':
    main()
