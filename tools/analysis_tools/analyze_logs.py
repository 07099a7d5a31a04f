"""Plot training curves (loss, lr, validation metrics) from mmengine's scalar log.

    python tools/analysis_tools/analyze_logs.py LOG [--out-dir DIR] [--summary]
        [--metric accuracy/top1] [--rule greater]

LOG is ``<work_dir>/<timestamp>/vis_data/scalars.json`` or its ``<timestamp>`` folder (that
run alone), or the work dir itself: every run segment in it (a resumed run writes a new
``<timestamp>`` folder each time) is stitched in iteration order, without duplicates.
Writes ``loss.png``, ``lr.png`` and ``val.png`` (default: next to the newest log).
Also run as ``mim run mmtl analyze_logs ...``.
"""

import argparse
import os.path as osp

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot training curves from a scalar log')
    parser.add_argument('log', help='scalars.json, a run folder or a work dir')
    parser.add_argument('--out-dir', help='where the PNGs go (default: the log folder)')
    parser.add_argument('--summary', action='store_true', help='print the best val metric')
    parser.add_argument('--metric', help='metric of --summary (default: the first logged)')
    parser.add_argument('--rule', choices=['greater', 'less'], default='greater')
    parser.add_argument('--no-plots', action='store_true', help='only print the summary')
    return parser.parse_args(argv)


def analyse(args: argparse.Namespace) -> None:
    from mmtl.analysis.logs import best_metric, curve_figures, load_scalar_log
    from mmtl.visualization.figure import save_figure

    log = load_scalar_log(args.log)
    print(f'{log.path}: {len(log.train)} training and {len(log.val)} validation records')
    if len(log.segments) > 1:
        print(f'stitched from {len(log.segments)} run segments: {", ".join(log.segments)}')
    if log.earlier_runs:
        print(
            f'the newest of {len(log.earlier_runs) + 1} separate runs in this work dir; '
            f'give a run folder for an earlier one: {", ".join(log.earlier_runs)}'
        )
    if not args.no_plots:
        out_dir = args.out_dir or osp.dirname(log.path)
        for name, figure in curve_figures(log).items():
            path = osp.join(out_dir, name + '.png')
            save_figure(figure, path)
            print(f'{name} curve written to {path}')
    if args.summary:
        best = best_metric(log, args.metric, args.rule)
        losses = [r['loss'] for r in log.train if 'loss' in r]
        print(
            f'best {best["metric"]}: {best["value"]:.4f} at {log.val_axis} {best["step"]} '
            f'(last: {best["last"]:.4f})'
        )
        if losses:
            print(f'final training loss: {losses[-1]:.4f}')


def main(argv=None) -> int:
    args = parse_args(argv)
    analyse(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
