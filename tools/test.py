"""Evaluate a checkpoint on the test split of a config and save the metrics as JSON.

    python tools/test.py CONFIG [CHECKPOINT|best|last] [--work-dir DIR] [--out-metrics FILE]
                                           [--plots [DIR]] [--out preds.csv|preds.json]
                                           [--device {auto,cpu,cuda}] [--cfg-options ...]

Also run as ``mim test mmtl CONFIG --checkpoint CHECKPOINT`` and ``tools/dist_test.sh``; the
checkpoint may be given positionally or as ``--checkpoint`` in every form. ``best`` (the
default where the command allows none: ``mim test`` itself insists on ``--checkpoint``) and
``last`` name the work dir's best and last checkpoints; a missing file is named with the
checkpoints that exist. A checkpoint whose
tensors do not fit the config's model (another architecture, another class count) is refused
in one line before testing (see ``mmtl/engine/checkpoint_fit.py``).
The metrics go to ``<work_dir>/test_metrics.json`` unless ``--out-metrics`` says otherwise.
``--plots`` also draws the confusion matrix, ROC curves and per-class bars as PNG files
(into ``test_plots/`` next to the metrics file unless a folder is given).
"""

import argparse
import os.path as osp
import sys

from mmtl.utils.cli import exit_tool, mim_command
from mmtl.utils.run_args import parse_tool_args, select_device, test_parser


def parser() -> argparse.ArgumentParser:
    """The shared test arguments plus ``--plots``."""
    test_args = test_parser()
    test_args.add_argument(
        '--plots',
        nargs='?',
        const='',
        default=None,
        metavar='DIR',
        help='also write PNG plots of the metrics to DIR '
        '(default: test_plots/ next to the metrics file)',
    )
    # --out (error analysis): per-image predictions, see mmtl.evaluation.metrics.predictions
    test_args.add_argument(
        '--out',
        metavar='FILE',
        help="also write every test image's prediction (path, true and predicted class, "
        'score, top-5) to FILE (.csv or .json; analysis_tools/analyze_results.py reads it), '
        'or the raw results to FILE.pkl (mmengine DumpResults)',
    )
    return test_args


def write_plots(metrics_file: str, out_dir: str) -> None:
    """Draw the plots of a metrics file and print where they went."""
    from mmtl.visualization.evaluation_plots import plot_test_metrics_file

    try:
        written = plot_test_metrics_file(metrics_file, out_dir or None)
    except ValueError as err:  # the metrics are saved; only the plots are missing
        print(f'warning: no plots: {err}', file=sys.stderr, flush=True)
        return
    for path in written:
        print(f'plot written to {path}', flush=True)


def print_metrics(metrics: dict) -> None:
    """Print each metric on stdout, for when it cannot be saved."""
    for key, value in metrics.items():
        print(f'{key}: {value.tolist() if hasattr(value, "tolist") else value}', flush=True)


def unwritten_outputs(runner) -> list:
    """Why each output file of the test evaluator (``--out``) could not be written."""
    return [m.write_error for m in runner.test_evaluator.metrics if getattr(m, 'write_error', 0)]


def resolve_checkpoint(args_parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Take the checkpoint from the positional argument or ``--checkpoint`` (at most one).

    ``best`` (also when none is given) and ``last`` are looked up in the work dir the run
    writes to (``--work-dir``, else the config's, else the default); a file that does not
    exist is named with the option and the checkpoints that do exist. ``args.config``
    becomes the config as read (with ``--cfg-options``), which ``prepare_test_config`` takes.
    """
    given = [c for c in (args.checkpoint, args.checkpoint_option) if c]
    if len(set(given)) > 1:
        args_parser.error(f'two checkpoints given: {given[0]} and --checkpoint {given[1]}')
    from mmtl.apis.fit import find_checkpoint
    from mmtl.apis.runner_setup import work_dir_of
    from mmtl.config.load import read_config

    which = given[0] if given else 'best'
    # mim test passes its --checkpoint on as the positional argument
    typed_positional = args.checkpoint and mim_command() != 'test'
    option = 'CHECKPOINT' if typed_positional else '--checkpoint'
    args.config = read_config(args.config, args.cfg_options)
    work_dir = work_dir_of(args.config, args.work_dir)
    args.checkpoint = find_checkpoint(work_dir, which, option=option)
    if not given or which in ('best', 'last'):
        print(f'testing the {which} checkpoint of {work_dir}: {args.checkpoint}', flush=True)


def main(argv=None) -> int:
    test_args = parser()
    args = parse_tool_args(test_args, argv)

    if args.out:  # --out: per-image predictions; a bad file name fails before any work
        from mmtl.evaluation.metrics import add_prediction_writer, check_prediction_file

        check_prediction_file(args.out)
    resolve_checkpoint(test_args, args)
    select_device(args.device)
    from mmtl.apis.runner_setup import build_runner, prepare_test_config, save_test_metrics

    cfg = prepare_test_config(args)
    from mmtl.evaluation.metrics import add_test_intervals  # intervals, calibration

    add_test_intervals(cfg)
    if args.out:
        add_prediction_writer(cfg, args.out)
    from mmtl.utils.errors import UserError

    runner = build_runner(cfg)
    metrics = runner.test()
    try:
        metrics_file = save_test_metrics(runner, metrics, args.out_metrics)
    except OSError as err:  # a full disk: the metrics go to stdout, not lost
        print_metrics(metrics)
        path = args.out_metrics or osp.join(runner.work_dir, 'test_metrics.json')
        raise UserError(
            f'cannot write {path}: {err.strerror or err}; the metrics are printed above'
        ) from None
    if args.plots is not None and metrics_file is not None:
        write_plots(metrics_file, args.plots)
    unwritten = unwritten_outputs(runner)
    if unwritten:
        raise UserError(f'{unwritten[0]}; the metrics were written to {metrics_file}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
