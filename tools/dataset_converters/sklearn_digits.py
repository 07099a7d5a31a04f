"""Write scikit-learn's 1797 handwritten digits as an image-folder dataset.

    python tools/dataset_converters/sklearn_digits.py data/digits

makes ``data/digits/{train,val,test}/<digit>/<index>.png`` (8x8 grayscale, 16 grey levels
stretched to 0-255) with a stratified, seeded split, and ``data/digits/classes.txt``.
The data ships inside the scikit-learn wheel, so this works offline.
"""

import argparse
import os.path as osp
import shutil

from mmtl.utils.cli import exit_tool


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


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.datasets.digits import write_digits_folder
    from mmtl.datasets.split import SPLIT_NAMES

    if osp.exists(osp.join(args.out_dir, 'train')):
        if not args.force:
            print(f'{args.out_dir} already holds a dataset; keeping it (use --force to rewrite)')
            return 0
        for split in SPLIT_NAMES:
            shutil.rmtree(osp.join(args.out_dir, split), ignore_errors=True)
    counts = write_digits_folder(args.out_dir, args.ratios, args.seed, args.digits)
    print(f'wrote {sum(counts.values())} digit images to {args.out_dir}: {counts}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
