"""First scan vs re-scan of an unchanged folder: FolderDataset build rate, same run.

    python benchmarks/bench_scan_cache.py [--quick | --tiny] [--num N]

Sizes: full 100,000 files (the #16 goals are stated on 100k), ``--quick`` 20,000, ``--tiny``
200; ``--num`` overrides.

Writes ``--num`` small JPEGs in 10 class folders (mtime set 1 h back, as for a dataset copied
earlier), then builds a ``FolderDataset`` (listing + header scan) four ways, on the same files
with the page cache warm: no scan, first scan in one process, first scan with the process
pool, and a re-scan served by the scan cache. Prints files/s and each as a ratio of the
single-process first scan, and the #16 goals (first scan >= 50k files/s, re-scan >= 500k
files/s; the scan step's own rate, as the goals are about the scan).
"""

import io
import os
import os.path as osp
import shutil
import tempfile
import time

import common  # noqa: I001  (puts the repository on sys.path)
from PIL import Image

SIZES = {'tiny': 200, 'quick': 20_000, 'full': 100_000}
GOAL_FIRST_SCAN = 50_000
GOAL_RESCAN = 500_000


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


def main(argv=None) -> dict:
    args = common.parse_args(
        'scan_cache',
        __doc__.split('\n')[0],
        argv,
        lambda parser: parser.add_argument('--num', type=int, help='files (default by size)'),
    )
    num = args.num or SIZES[args.size]
    root = tempfile.mkdtemp(prefix='bench_scan_cache_')
    os.environ['MMTL_CACHE_DIR'] = osp.join(root, 'cache')
    make_folder(root, num)
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
    rows = []
    for name, (seconds, scan_seconds) in times.items():
        rows.append(
            [
                name,
                round(num / seconds),
                common.ratio(reference, seconds),
                round(num / scan_seconds) if scan_seconds else '',
                common.ratio(scan_reference, scan_seconds) if scan_seconds else '',
            ]
        )
    rates = {name: num / scan for name, (_, scan) in times.items() if scan}
    first = max(rates['first scan, 1 process'], rates['first scan, process pool'])
    goals = {
        'first scan, files/s (1 process or pool)': common.goal(round(first), GOAL_FIRST_SCAN),
        're-scan of the unchanged folder, files/s': common.goal(
            round(rates['re-scan, cache']), GOAL_RESCAN
        ),
    }
    table = common.format_table(
        [
            f'{num} files, {os.cpu_count()} CPUs',
            'build files/s',
            'x first',
            'scan alone files/s',
            'x first',
        ],
        rows,
    )
    table += '\n\n' + common.goal_table('goal (#16 scanning)', goals)
    result = dict(
        size=args.size,
        files=num,
        seconds={name: list(value) for name, value in times.items()},
        scan_files_per_s=rates,
        goals=goals,
    )
    common.write_result(args.out, 'scan_cache', result, table)
    shutil.rmtree(root, ignore_errors=True)
    return result


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
