"""Train a classifier from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--device {auto,cpu,cuda}] [--cfg-options KEY=VALUE ...]

Also run as ``mim train mmtl CONFIG ...`` and, for several processes, through
``tools/dist_train.sh``.
"""

import argparse
import os
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)'
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or from the latest one in the work dir when no '
        'path is given',
    )
    parser.add_argument('--amp', action='store_true', help='mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real total batch / auto_scale_lr.base_batch_size',
    )
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation during training'
    )
    parser.add_argument(
        '--device',
        choices=['auto', 'cpu', 'cuda'],
        default='auto',
        help='device to train on (default: cuda when available)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=data/fruit optim_wrapper.optimizer.lr=0.1',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed training',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.apis.runner import build_runner, prepare_train_config
    from mmtl.utils.cli import run_with_clear_errors, select_device

    def train() -> None:
        select_device(args.device)
        build_runner(prepare_train_config(args)).train()

    return run_with_clear_errors(train)


if __name__ == '__main__':
    sys.exit(main())
