"""Draw the test metrics of a run as PNG files: confusion matrix, ROC curves, per-class bars.

    python tools/analysis_tools/plot_test_metrics.py WORK_DIR_OR_JSON [--out-dir DIR]

WORK_DIR_OR_JSON is a ``test_metrics.json`` written by ``tools/test.py`` (``mim test mmtl``)
or the work dir holding it. The plots go to DIR (default: ``test_plots/`` next to the JSON)
and their paths are printed. Also run as ``mim run mmtl plot_test_metrics ...``.
"""

import argparse
import sys

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot the metrics of a test run')
    parser.add_argument('metrics', help='test_metrics.json, or the work dir that holds it')
    parser.add_argument(
        '--out-dir', help='folder for the PNG files (default: test_plots/ next to the JSON)'
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.visualization.evaluation_plots import plot_test_metrics_file

    try:
        written = plot_test_metrics_file(args.metrics, args.out_dir)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for path in written:
        print(f'plot written to {path}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
