"""Check the environment: torch/CUDA/cuDNN versions, GPUs, mm* versions, the device used.

    python tools/misc/check_env.py [CONFIG] [--verbose] [--cfg-options KEY=VALUE ...]

The report is mmengine's ``collect_env`` with mmtl's additions (CPUs, threads, cuDNN, the
versions of the mm* packages); ``--verbose`` adds torch's build report. With a config, also
says whether training it here would run on the GPU or the CPU.
Also run as ``mim run mmtl check_env ...``.
"""

import argparse

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Versions, GPUs and the device a run will use')
    parser.add_argument('config', nargs='?', help='config to check the device for')
    parser.add_argument('--verbose', action='store_true', help="add torch's build report")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> None:
    from mmtl.analysis.env import TORCH_BUILD_KEY, collect_env, configured_device

    env = collect_env(verbose=args.verbose)
    build = env.pop(TORCH_BUILD_KEY, None)
    width = max(len(key) for key in env)
    for key, value in env.items():
        text = ', '.join(value) if isinstance(value, list) else value
        print(f'{key:<{width}}  {text}')
    if build is not None:
        print(f'\n{TORCH_BUILD_KEY}:\n{build}')
    if args.config:
        from mmtl.config.load import load_config

        cfg = load_config(args.config, args.cfg_options)
        device = configured_device(cfg)
        print(
            f'\n{args.config}: training here runs on {device["device"].upper()}: {device["reason"]}'
        )
        for note in device['notes']:
            print(f'  note: {note}')


def main(argv=None) -> int:
    args = parse_args(argv)
    check(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
