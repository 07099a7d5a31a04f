"""FLOPs and parameters of a config's model, under OpenMMLab's tool name and flags.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--no-table]
        [--cfg-options KEY=VALUE ...]

The same figures as mmtl's ``analysis_tools/model_summary.py`` (which adds the training
memory estimate), counted by mmengine's ``get_model_complexity_info``: one multiply-add is
one FLOP. ``--shape`` defaults to the size the config's test pipeline produces. Also run as
``mim run mmtl get_flops CONFIG``.
"""

import argparse

from mmengine.config import DictAction

from mmtl.utils.cli import add_image_size_argument, exit_tool, image_size_from_args


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FLOPs and parameters of a model')
    parser.add_argument('config', help='config file (or the bare name of an mmtl config)')
    add_image_size_argument(parser, '--shape')
    parser.add_argument('--no-table', action='store_true', help='leave out the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def report(args: argparse.Namespace) -> None:
    from mmtl.analysis.model_summary import model_complexity
    from mmtl.apis import init_model
    from mmtl.config.access import input_size_from_config
    from mmtl.config.load import load_config

    size = image_size_from_args(args.shape, '--shape')
    cfg = load_config(args.config, args.cfg_options)
    height, width = size or input_size_from_config(cfg)
    model = init_model(cfg)
    info = model_complexity(model, (3, height, width), show_table=not args.no_table)
    if info['out_table']:
        print(info['out_table'])
    line = '=' * 30
    print(
        f'{line}\nInput shape: (3, {height}, {width})\nFlops: {info["flops_str"]} '
        f'({info["flops"]:,})\nParams: {info["params_str"]} ({info["params"]:,})\n'
        f'Activation: {info["activations_str"]}\n{line}'
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    report(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
