"""First scan vs re-scan of an unchanged folder: FolderDataset build rate, same run.

    python benchmarks/bench_scan_cache.py [--num 20000]

Writes ``--num`` small JPEGs in 10 class folders (mtime set 1 h back, as for a dataset copied
earlier), then builds a ``FolderDataset`` (listing + header scan) four ways, on the same files
with the page cache warm: no scan, first scan in one process, first scan with the process
pool, and a re-scan served by the scan cache. Prints files/s and each as a ratio of the
single-process first scan.
"""

import argparse
import io
import os
import os.path as osp
import tempfile
import time

from PIL import Image


def make_folder(root: str, num: int) -> None:
    buffer = io.BytesIO()
    Image.new('RGB', (8, 8), (200, 30, 30)).save(buffer, format='JPEG')
    data = buffer.getvalue()
    past = time.time() - 3600
    for c in range(10):
        os.makedirs(osp.join(root, 'train', f'class_{c}'), exist_ok=True)
    for i in range(num):
        path = osp.join(root, 'train', f'class_{i % 10}', f'{i:06d}.jpg')
        with open(path, 'wb') as f:
            f.write(data)
        os.utime(path, (past, past))


def build(root: str, **kwargs) -> tuple:
    """Seconds to build the dataset, and of those the scan's own (0 without a scan)."""
    from mmtl.datasets import FolderDataset

    start = time.perf_counter()
    dataset = FolderDataset(data_root=root, data_prefix='train', pipeline=[], **kwargs)
    seconds = time.perf_counter() - start
    return seconds, dataset.scan_report.seconds if dataset.scan_report.num_files else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=20000)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='bench_scan_cache_')
    os.environ['MMTL_CACHE_DIR'] = osp.join(root, 'cache')
    make_folder(root, args.num)
    build(root, scan_files='none')  # warm the page cache
    runs = [
        ('no scan (listing only)', dict(scan_files='none')),
        ('first scan, 1 process', dict(scan_cache=False, scan_workers=1)),
        ('first scan, process pool', dict(scan_cache=False, scan_workers=os.cpu_count())),
        ('first scan, filling the cache', dict(scan_workers=1)),
        ('re-scan, cache', dict()),
    ]
    times = {name: build(root, **kwargs) for name, kwargs in runs}
    reference, scan_reference = times['first scan, 1 process']
    print(f'{args.num} files, {os.cpu_count()} CPUs; build = listing + scan + mmengine set-up')
    for name, (seconds, scan_seconds) in times.items():
        scan = (
            f'scan alone {args.num / scan_seconds:9.0f} files/s '
            f'{scan_reference / scan_seconds:6.2f}x'
            if scan_seconds
            else ''
        )
        print(
            f'  {name:30s} build {args.num / seconds:7.0f} files/s '
            f'{reference / seconds:5.2f}x   {scan}'
        )


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
