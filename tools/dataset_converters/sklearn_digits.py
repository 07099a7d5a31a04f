"""Write scikit-learn's 1797 handwritten digits as an image-folder dataset.

    python tools/dataset_converters/sklearn_digits.py data/digits

makes ``data/digits/{train,val,test}/<digit>/<index>.png`` (8x8 grayscale, 16 grey levels
stretched to 0-255) with a stratified, seeded split, and ``data/digits/classes.txt``.
The data ships inside the scikit-learn wheel, so this works offline.
"""

import argparse
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
from sklearn.datasets import load_digits

from mmtl.datasets import stratified_split
from mmtl.datasets.split import SPLIT_NAMES


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder, e.g. data/digits')
    parser.add_argument(
        '--ratios',
        type=float,
        nargs=3,
        default=(0.6, 0.2, 0.2),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='split sizes (default: 0.6 0.2 0.2)',
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the split (default: 0)')
    parser.add_argument(
        '--digits',
        type=int,
        nargs='+',
        default=list(range(10)),
        help='keep only these digits (default: all ten)',
    )
    parser.add_argument('--force', action='store_true', help='overwrite an existing output')
    return parser.parse_args(argv)


def digits_images(keep: list) -> tuple:
    """Return (uint8 images N x 8 x 8, labels N, original indices N) for the kept digits."""
    digits = load_digits()
    mask = np.isin(digits.target, keep)
    images = np.round(digits.images[mask] * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target[mask], np.flatnonzero(mask)


def write_split(out_dir: str, ratios, seed: int, keep: list) -> dict:
    """Write the dataset and return ``{split: count}``."""
    images, labels, indices = digits_images(keep)
    classes = [str(d) for d in sorted(set(keep))]
    counts = {}
    for split, part in zip(SPLIT_NAMES, stratified_split(labels, ratios, seed)):
        for i in part:
            folder = osp.join(out_dir, split, str(labels[i]))
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{indices[i]:04d}.png')
            if not cv2.imwrite(path, images[i]):
                raise OSError(f'could not write {path}')
        counts[split] = len(part)
    with open(osp.join(out_dir, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    with open(osp.join(out_dir, 'split.json'), 'w', encoding='utf-8') as f:
        json.dump(
            {
                'source': 'sklearn.datasets.load_digits',
                'ratios': list(ratios),
                'seed': seed,
                'digits': classes,
                'counts': counts,
            },
            f,
            indent=2,
        )
    return counts


def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.exists(osp.join(args.out_dir, 'train')):
        if not args.force:
            print(f'{args.out_dir} already holds a dataset; keeping it (use --force to rewrite)')
            return 0
        import shutil

        for split in SPLIT_NAMES:
            shutil.rmtree(osp.join(args.out_dir, split), ignore_errors=True)
    counts = write_split(args.out_dir, args.ratios, args.seed, args.digits)
    print(f'wrote {sum(counts.values())} digit images to {args.out_dir}: {counts}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
