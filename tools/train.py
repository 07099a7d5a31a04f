"""Train a classifier from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--auto-scale-lr]
                                 [--amp [{auto,none,fp16,bf16}]] [--compile] [--channels-last]
                                 [--accumulate N] [--sync-bn]
                                 [--device {auto,cpu,cuda}] [--cfg-options KEY=VALUE ...]

Also run as ``mim train mmtl CONFIG ...`` and, for several processes, through
``tools/dist_train.sh``.
"""

import sys

from mmtl.utils.cli import parse_tool_args, run_with_clear_errors, select_device, train_parser
from mmtl.utils.signals import run_guarded


def main(argv=None) -> int:
    args = parse_tool_args(train_parser(), argv)

    def train() -> None:
        select_device(args.device)
        from mmtl.apis.runner_setup import build_runner, prepare_train_config  # torch: after --help

        build_runner(prepare_train_config(args)).train()

    return run_with_clear_errors(train)


if __name__ == '__main__':
    # Trains in a child that stops cleanly (checkpoint, exit 128 + signal) on SIGTERM/SIGINT
    # and when this process dies (mim kills it with SIGKILL on Ctrl-C).
    sys.exit(run_guarded(main))
