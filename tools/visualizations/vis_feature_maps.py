"""Draw the feature maps of chosen layers for one image (captured with forward hooks).

    python tools/visualizations/vis_feature_maps.py CONFIG CKPT IMAGE \
        --layers backbone.layer1 backbone.layer4 [--channels 16] [--out-dir DIR]

Writes one PNG per layer, ``<out-dir>/<layer>.png``: the first channels of its output, each
scaled to its own range. Also run as ``mim run mmtl vis_feature_maps ...``.
"""

import argparse
import os.path as osp

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import add_device_argument, resolve_device


def parse_args(argv=None) -> argparse.Namespace:
    # No abbreviations: '--out x.png' would otherwise be taken as --out-dir and make a folder.
    parser = argparse.ArgumentParser(
        description='Feature maps of chosen layers', allow_abbrev=False
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('--layers', nargs='+', required=True, help='dotted layer names')
    parser.add_argument('--channels', type=int, default=16, help='channels drawn per layer')
    parser.add_argument('--out-dir', default='feature_maps', help='output folder')
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def draw(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from mmtl.analysis.feature_hooks import as_tensor, capture_features
    from mmtl.analysis.images import load_image
    from mmtl.apis import init_model
    from mmtl.config.load import load_config
    from mmtl.visualization.figure import image_grid, save_figure

    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image not found: {args.image}')
    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=resolve_device(args.device))
    inputs, _ = load_image(model, cfg, args.image)
    with capture_features(model, args.layers) as features, torch.no_grad():
        model(inputs)
    for name in args.layers:
        fmap = as_tensor(features[name])[0]
        if fmap.dim() != 3:
            print(f'{name}: output shape {tuple(fmap.shape)} is not CxHxW, skipped')
            continue
        channels = fmap[: args.channels].cpu().numpy()
        low = channels.min(axis=(1, 2), keepdims=True)
        span = np.maximum(channels.max(axis=(1, 2), keepdims=True) - low, 1e-8)
        panels = list((channels - low) / span)
        titles = [f'ch {i}' for i in range(len(panels))]
        title = f'{name}  {"x".join(map(str, fmap.shape))}'
        figure = image_grid(panels, titles, cell_px=120, cmap='viridis', title=title)
        path = osp.join(args.out_dir, f'{name}.png')
        save_figure(figure, path)
        print(f'{name}: {tuple(fmap.shape)} -> {path}')


def main(argv=None) -> int:
    args = parse_args(argv)
    draw(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
