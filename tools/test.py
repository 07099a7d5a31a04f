"""Evaluate a checkpoint on the test split of a config and save the metrics as JSON.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-metrics FILE]
                                           [--device {auto,cpu,cuda}] [--cfg-options ...]

Also run as ``mim test mmtl CONFIG --checkpoint CHECKPOINT`` and ``tools/dist_test.sh``.
The metrics go to ``<work_dir>/test_metrics.json`` unless ``--out-metrics`` says otherwise.
"""

import argparse
import os
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a classifier')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file or URL')
    parser.add_argument(
        '--work-dir', help='where logs and metrics go (default: work_dirs/<config name>)'
    )
    parser.add_argument(
        '--out-metrics', help='metrics JSON file (default: <work_dir>/test_metrics.json)'
    )
    parser.add_argument(
        '--device',
        choices=['auto', 'cpu', 'cuda'],
        default='auto',
        help='device to test on (default: cuda when available)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/fruit test_dataloader.batch_size=8',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed testing',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.apis.runner import build_runner, prepare_test_config, save_test_metrics
    from mmtl.utils.cli import run_with_clear_errors, select_device

    def test() -> None:
        select_device(args.device)
        runner = build_runner(prepare_test_config(args))
        metrics = runner.test()
        save_test_metrics(runner, metrics, args.out_metrics)

    return run_with_clear_errors(test)


if __name__ == '__main__':
    sys.exit(main())
