"""Train a classifier from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--auto-scale-lr]
                                 [--amp [{auto,none,fp16,bf16}]] [--compile] [--channels-last]
                                 [--accumulate N] [--sync-bn]
                                 [--device {auto,cpu,cuda}] [--cfg-options KEY=VALUE ...]

Also run as ``mim train mmtl CONFIG ...`` and, for several processes, through
``tools/dist_train.sh``.
"""

import sys

from mmtl.utils.cli import (
    parse_tool_args,
    quiet_mim_parent,
    run_with_clear_errors,
    select_device,
    train_parser,
)
from mmtl.utils.signals import run_in_child


def main(argv=None) -> int:
    args = parse_tool_args(train_parser(), argv)

    def train() -> None:
        select_device(args.device)
        from mmtl.apis.runner_setup import build_runner, prepare_train_config  # torch: after --help

        build_runner(prepare_train_config(args)).train()

    return run_with_clear_errors(train)


if __name__ == '__main__':
    # Trains in a child process, which outlives mim's SIGKILL of this one after a Ctrl-C long
    # enough to write its checkpoint (see mmtl.utils.signals).
    code = run_in_child(main)
    if code:
        quiet_mim_parent()
    sys.exit(code)
