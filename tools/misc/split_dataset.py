"""Split a one-folder-per-class photo directory into train/val/test (stratified, seeded).

    python tools/misc/split_dataset.py SRC DST [--ratios 0.7 0.15 0.15] [--seed 0]
        [--mode copy|symlink|hardlink]

SRC holds ``<class>/*.jpg``; DST receives ``{train,val,test}/<class>/``. Every class keeps
its share in each part. Also run as ``mim run mmtl split_dataset ...``.
"""

import argparse

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Stratified train/val/test split of a folder')
    parser.add_argument('src', help='folder with one sub-folder of images per class')
    parser.add_argument('dst', help='output folder (must not hold a split yet)')
    parser.add_argument(
        '--ratios', type=float, nargs='+', default=[0.7, 0.15, 0.15], help='train val [test]'
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the shuffle')
    parser.add_argument('--mode', choices=['copy', 'symlink', 'hardlink'], default='copy')
    return parser.parse_args(argv)


def format_counts(counts: dict) -> str:
    """A table of images per class (rows) and split (columns), with totals."""
    splits = list(counts)
    classes = list(next(iter(counts.values())))
    width = max([len('class'), len('total')] + [len(c) for c in classes])
    lines = ['class'.ljust(width) + ''.join(f'{s:>8}' for s in splits)]
    for name in classes:
        lines.append(name.ljust(width) + ''.join(f'{counts[s][name]:>8}' for s in splits))
    lines.append('total'.ljust(width) + ''.join(f'{sum(counts[s].values()):>8}' for s in splits))
    return '\n'.join(lines)


def split(args: argparse.Namespace) -> None:
    import os.path as osp

    from mmtl.datasets.split import split_image_folder
    from mmtl.utils.errors import ConfigError

    if not osp.isdir(args.src):
        raise FileNotFoundError(f'source folder not found: {args.src}')
    try:
        counts = split_image_folder(args.src, args.dst, args.ratios, args.seed, args.mode)
    except FileExistsError as err:  # DST holds a split already: a wrong argument
        raise ConfigError(str(err)) from None
    print(format_counts(counts))
    print(f'split ({args.mode}, seed {args.seed}) written to {osp.abspath(args.dst)}')


def main(argv=None) -> int:
    args = parse_args(argv)
    split(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
