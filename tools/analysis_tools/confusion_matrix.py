"""The confusion matrix of a checkpoint on a config's test split, under OpenMMLab's tool name.

    python tools/analysis_tools/confusion_matrix.py CONFIG CKPT_OR_RESULTS [--show-path PNG]
        [--out counts.json] [--cfg-options KEY=VALUE ...]

CKPT_OR_RESULTS is a checkpoint (the test split is run first, as ``tools/test.py`` does) or
the results of a test run that was already made: the ``test_metrics.json`` that
``tools/test.py`` / ``mim test mmtl`` writes, or its work dir. The matrix (rows = true
classes) is printed, drawn row-normalised with the counts to ``--show-path`` (default
``confusion_matrix.png``) and, with ``--out``, saved as JSON. Also run as
``mim run mmtl confusion_matrix ...``.
"""

import argparse
import json
import os.path as osp
import runpy
import tempfile

from mmtl.utils.cli import exit_tool

TOOLS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Confusion matrix of a test run')
    parser.add_argument('config', help='config file (or the bare name of an mmtl config)')
    parser.add_argument(
        'ckpt_or_result', help='checkpoint, or a test_metrics.json (or its work dir) of a test run'
    )
    parser.add_argument(
        '--show-path', default='confusion_matrix.png', help='PNG to draw the matrix to'
    )
    parser.add_argument('--out', help='also save classes and counts to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', help='override config keys (KEY=VALUE), for a checkpoint'
    )
    return parser.parse_args(argv)


def is_results(path: str) -> bool:
    """Whether ``path`` is a test run's results (a JSON file or a folder) and not a checkpoint."""
    return osp.isdir(path) or path.endswith('.json')


def test_metrics(args: argparse.Namespace, work_dir: str) -> dict:
    """The metrics of the results given, or of a test run of the checkpoint given."""
    from mmtl.visualization.evaluation_plots import read_test_metrics

    if is_results(args.ckpt_or_result):
        return read_test_metrics(args.ckpt_or_result)
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    argv = [args.config, args.ckpt_or_result, '--work-dir', work_dir]
    argv += ['--out-metrics', metrics_file]
    argv += ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    if runpy.run_path(osp.join(TOOLS_DIR, 'test.py'))['main'](argv) != 0:
        raise SystemExit(1)  # the test tool has printed why
    return read_test_metrics(metrics_file)


def format_matrix(counts, classes) -> str:
    """The counts as a text table, true classes down, predicted across."""
    width = max(max(len(str(c)) for c in classes), max(len(str(v)) for row in counts for v in row))
    lines = ['true \\ predicted'.ljust(width) + '  ' + '  '.join(c.rjust(width) for c in classes)]
    for name, row in zip(classes, counts):
        lines.append(name.ljust(width) + '  ' + '  '.join(str(v).rjust(width) for v in row))
    return '\n'.join(lines)


def report(args: argparse.Namespace) -> None:
    from mmtl.utils.errors import ConfigError
    from mmtl.utils.prediction_rows import safe_text
    from mmtl.visualization.metric_plots import plot_confusion_matrix

    with tempfile.TemporaryDirectory(prefix='mmtl_confusion_') as work_dir:
        metrics = test_metrics(args, work_dir)
    if 'confusion_matrix/counts' not in metrics:
        raise ConfigError(
            f'{args.ckpt_or_result}: no confusion matrix in the test metrics; add '
            "dict(type='ConfusionMatrix') to the config's test_evaluator"
        )
    counts = metrics['confusion_matrix/counts']
    classes = [str(c) for c in metrics['confusion_matrix/classes']]
    print(format_matrix(counts, [safe_text(name) for name in classes]))
    plot_confusion_matrix(counts, classes, args.show_path)
    print(f'confusion matrix drawn to {args.show_path}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'classes': classes, 'counts': counts}, f, indent=2)
        print(f'confusion matrix saved to {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    report(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
