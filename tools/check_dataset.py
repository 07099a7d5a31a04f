"""Check every image of a dataset folder before training: report files that cannot be read.

    python tools/check_dataset.py DATA_ROOT [--splits train val test] [--show 20]
    mim run mmtl check_dataset DATA_ROOT

DATA_ROOT holds ``<split>/<class>/<image>`` (or give a single split folder). Prints, per split,
how many files were checked, how long it took, the bad files with the reason for each, and
the classes without images. Exits with 1 when something is wrong, so it can gate a job.
Training runs the same check by itself (``bad_file_policy`` in the dataset config).
"""

import argparse
import os.path as osp
import sys
from typing import List

from mmtl.datasets.listing import (
    IMG_EXTENSIONS,
    list_class_folders,
    list_dangling_links,
    list_image_files,
)
from mmtl.datasets.scan import ScanReport, scan_image_files
from mmtl.utils.cli import exit_tool
from mmtl.utils.prediction_rows import safe_text


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Find images that cannot be read')
    parser.add_argument('data_root', help='dataset folder with <split>/<class>/<image>')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val', 'test'],
        help='split folders to check (those that exist); default: train val test',
    )
    parser.add_argument('--show', type=int, default=20, help='bad files to list per split')
    return parser.parse_args(argv)


def scan_split(split_dir: str) -> ScanReport:
    """Scan every image of every class folder of ``split_dir``."""
    counts, paths = [], []
    for name in list_class_folders(split_dir):
        files = list_image_files(osp.join(split_dir, name), IMG_EXTENSIONS)
        counts.append((name, len(files)))
        paths.extend(files)
    report = scan_image_files(paths, counts)
    report.bad_files.extend(
        (path, 'broken symbolic link or link loop') for path in list_dangling_links(split_dir)
    )
    return report


def split_folders(data_root: str, splits: List[str]) -> List[str]:
    """The split folders to check; ``data_root`` itself when none of ``splits`` exists."""
    found = [osp.join(data_root, s) for s in splits if osp.isdir(osp.join(data_root, s))]
    return found or [data_root]


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isdir(args.data_root):
        print(f'error: {args.data_root} is not a folder', file=sys.stderr)
        return 1
    all_ok = True
    for split_dir in split_folders(args.data_root, args.splits):
        report = scan_split(split_dir)
        if not report.num_files and not report.bad_files:
            print(
                f'error: {safe_text(split_dir)}: no images (expected <class>/<image> files with '
                f'extension {", ".join(IMG_EXTENSIONS)})',
                file=sys.stderr,
            )
            all_ok = False
            continue
        rate = report.num_files / report.seconds if report.seconds > 0 else float('inf')
        print(
            f'{split_dir}: {report.num_files} files checked in {report.seconds:.2f} s '
            f'({rate:.0f} files/s), {len(report.bad_files)} bad, '
            f'{len(report.empty_classes)} empty classes'
        )
        for path, reason in report.bad_files[: args.show]:
            print(f'  bad: {safe_text(path)}: {safe_text(reason)}')
        if len(report.bad_files) > args.show:
            print(f'  ... and {len(report.bad_files) - args.show} more')
        if report.empty_classes:
            print(f'  classes without images: {report.empty_classes}')
        all_ok = all_ok and report.ok
    return 0 if all_ok else 1


if __name__ == '__main__':
    exit_tool(main)
