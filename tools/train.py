"""Train a classifier from a config.

Also run as ``mim train mmtl CONFIG ...`` and, for several processes, through
``tools/dist_train.sh``.
"""

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import parse_tool_args, select_device, train_parser
from mmtl.utils.signals import run_in_child


def main(argv=None) -> int:
    args = parse_tool_args(train_parser(), argv)

    select_device(args.device)
    from mmtl.apis.fit import train_config  # torch: after --help
    from mmtl.apis.runner_setup import prepare_train_config

    train_config(prepare_train_config(args))
    return 0


if __name__ == '__main__':
    # Trains in a child process, which outlives mim's SIGKILL of this one after a Ctrl-C long
    # enough to write its checkpoint (see mmtl.utils.signals).
    exit_tool(lambda: run_in_child(main))
