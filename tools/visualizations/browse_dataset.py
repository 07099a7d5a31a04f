"""A grid of random training samples after the train pipeline (augmentation included).

    python tools/visualizations/browse_dataset.py CONFIG [--split train] [--num 16]
        [--seed 0] [--out browse.png] [--cfg-options KEY=VALUE ...]

Each panel is titled with its class name. Images are drawn as the pipeline leaves them
(mmpretrain pipelines do not normalise: the model's data preprocessor does; a ``Normalize``
in the pipeline is undone for display). Also run as ``mim run mmtl browse_dataset ...``.
"""

import argparse

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Show random samples after the pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num', type=int, default=16, help='samples to draw')
    parser.add_argument('--seed', type=int, default=0, help='seed of the choice and augmentation')
    parser.add_argument('--cell', type=int, default=128, help='panel side in pixels')
    parser.add_argument('--out', default='browse_dataset.png', help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def draw(args: argparse.Namespace) -> None:
    from mmtl.analysis.images import sample_grid
    from mmtl.config.load import load_config
    from mmtl.datasets.builder import build_dataset
    from mmtl.visualization.figure import image_grid, save_figure

    cfg = load_config(args.config, args.cfg_options)
    dataset = build_dataset(cfg, args.split)
    images, titles, indices = sample_grid(dataset, args.num, args.seed)
    title = f'{args.split}: {len(images)} of {len(dataset)} samples, seed {args.seed}'
    figure = image_grid(images, titles, cell_px=args.cell, title=title)
    save_figure(figure, args.out)
    print(f'samples {indices} written to {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    draw(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
