"""Evaluate a checkpoint on the test split of a config and save the metrics as JSON.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-metrics FILE]
                                           [--device {auto,cpu,cuda}] [--cfg-options ...]

Also run as ``mim test mmtl CONFIG --checkpoint CHECKPOINT`` and ``tools/dist_test.sh``.
The metrics go to ``<work_dir>/test_metrics.json`` unless ``--out-metrics`` says otherwise.
"""

import sys

from mmtl.apis.runner import build_runner, prepare_test_config, save_test_metrics
from mmtl.utils.cli import parse_tool_args, run_with_clear_errors, select_device, test_parser


def main(argv=None) -> int:
    args = parse_tool_args(test_parser(), argv)

    def test() -> None:
        select_device(args.device)
        runner = build_runner(prepare_test_config(args))
        save_test_metrics(runner, runner.test(), args.out_metrics)

    return run_with_clear_errors(test)


if __name__ == '__main__':
    sys.exit(main())
