"""How long the pre-training file check takes, next to decoding the same files.

    python benchmarks/bench_scan.py [--num 1000 | --quick | --tiny] [--out FILE] [--out-dir DIR]

Writes ``--num`` JPEG photos (500x375 crops of scikit-learn's two sample photos, quality 90)
and ``--num`` small PNGs, warms the page cache, then times on the same files: mmtl's scan
(:func:`mmtl.datasets.scan.scan_image_files`), PIL's header-only ``verify()``, a full PIL
decode and ``cv2.imread`` (what the training pipeline does per image). Prints seconds,
milliseconds per file and the ratio to ``cv2.imread``.
"""

import argparse
import json
import os
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

from mmtl.datasets.scan import scan_image_files


def write_files(out_dir: str, num: int) -> dict:
    """``{'JPEG photos 500x375': [...], 'PNG 32x32': [...]}`` written under ``out_dir``."""
    photos = [load_sample_image(name) for name in ('china.jpg', 'flower.jpg')]
    rng = np.random.default_rng(0)
    jpegs, pngs = [], []
    for i in range(num):
        y, x = rng.integers(0, 50, 2)
        crop = photos[i % 2][y : y + 375, x : x + 500]
        jpegs.append(osp.join(out_dir, f'{i:05d}.jpg'))
        Image.fromarray(crop).save(jpegs[-1], quality=90)
        pngs.append(osp.join(out_dir, f'{i:05d}.png'))
        Image.fromarray(cv2.resize(crop, (32, 32))).save(pngs[-1])
    return {'JPEG photos 500x375': jpegs, 'PNG 32x32': pngs}


def pil_verify(paths):
    for path in paths:
        with Image.open(path) as img:
            img.verify()


def pil_decode(paths):
    for path in paths:
        with Image.open(path) as img:
            img.load()


def cv2_decode(paths):
    for path in paths:
        cv2.imread(path)


def timed(func, paths) -> float:
    start = time.perf_counter()
    func(paths)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=1000, help='files of each kind')
    parser.add_argument('--quick', action='store_true', help='300 files of each kind')
    parser.add_argument('--tiny', action='store_true', help='20 files of each kind')
    parser.add_argument('--out', help='JSON file for the figures (default: none)')
    parser.add_argument('--out-dir', help='where to write the files (default: a temp dir)')
    args = parser.parse_args()
    num = 20 if args.tiny else 300 if args.quick else args.num
    out_dir = args.out_dir or tempfile.mkdtemp(prefix='bench_scan_')
    os.makedirs(out_dir, exist_ok=True)
    print(f'writing {2 * num} files to {out_dir}')
    figures = {}
    for kind, paths in write_files(out_dir, num).items():
        megabytes = sum(osp.getsize(p) for p in paths) / 1e6
        cv2_decode(paths)  # warm the page cache
        report = scan_image_files(paths)
        assert not report.bad_files, report.describe_bad_files()
        results = [
            ('mmtl scan', timed(lambda p: scan_image_files(p), paths)),
            ('PIL verify (header only)', timed(pil_verify, paths)),
            ('PIL full decode', timed(pil_decode, paths)),
            ('cv2.imread', timed(cv2_decode, paths)),
        ]
        reference = results[-1][1]
        print(f'\n{len(paths)} {kind} ({megabytes:.0f} MB, page cache warm)')
        figures[kind] = {}
        for name, seconds in results:
            print(
                f'  {name:26s} {seconds:6.2f} s  {1e3 * seconds / len(paths):6.3f} ms/file  '
                f'{seconds / reference:5.2f} x cv2.imread'
            )
            figures[kind][name] = {
                'ms_per_file': 1e3 * seconds / len(paths),
                'x_cv2_imread': seconds / reference,
            }
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({'files_per_kind': num, 'results': figures}, f, indent=2)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
