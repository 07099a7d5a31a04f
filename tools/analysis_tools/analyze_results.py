"""Error analysis of a test run: surest mistakes, least sure hits, most confused class pairs.

    python tools/test.py CONFIG CKPT --out work_dirs/run/preds.csv
    python tools/analysis_tools/analyze_results.py work_dirs/run/preds.csv [--out-dir DIR]
        [--num 16] [--pairs 10]
    mim run mmtl analyze_results work_dirs/run/preds.csv

Writes into DIR (default: ``analysis/`` next to the predictions file)
``confident_mistakes.png`` (the wrong predictions with the highest score),
``unsure_correct.png`` (the right predictions with the lowest score), and
``confused_pairs.md`` (true class, predicted class, images, share of the true class), which is
also printed.
"""

import argparse
import os
import os.path as osp

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('predictions', help='preds.csv or preds.json from tools/test.py --out')
    parser.add_argument('--out-dir', help='default: analysis/ next to the predictions file')
    parser.add_argument('--num', type=int, default=16, help='images per gallery')
    parser.add_argument('--pairs', type=int, default=10, help='confused pairs in the table')
    args = parser.parse_args(argv)
    if args.num < 1 or args.pairs < 1:
        parser.error(f'--num and --pairs must be at least 1, got {args.num} and {args.pairs}')
    return args


def analyze(args: argparse.Namespace) -> None:
    from mmtl.analysis import error_analysis as ea
    from mmtl.utils.fileio import atomic_open

    predictions = ea.read_predictions(args.predictions)
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.predictions)), 'analysis')
    os.makedirs(out_dir, exist_ok=True)
    wrong = sum(not p.correct for p in predictions)
    print(f'{len(predictions)} test images, {wrong} mistakes ({args.predictions})')
    galleries = (
        ('confident_mistakes.png', 'most confident mistakes', ea.most_confident_mistakes),
        ('unsure_correct.png', 'least confident correct predictions', ea.least_confident_correct),
    )
    for name, title, select in galleries:
        path = osp.join(out_dir, name)
        shown = ea.draw_gallery(select(predictions, args.num), title, path)
        print(f'{title}: {shown} images in {path}')
    table = ea.format_pairs_table(ea.confused_pairs(predictions, args.pairs))
    with atomic_open(osp.join(out_dir, 'confused_pairs.md'), 'w') as f:
        f.write(table + '\n')
    print('most confused class pairs:')
    print(table)


def main(argv=None) -> int:
    args = parse_args(argv)
    analyze(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
