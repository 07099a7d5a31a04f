"""Grad-CAM of one image: where the model found evidence for a class, overlaid on the image.

    python tools/visualizations/vis_cam.py CONFIG CKPT IMAGE [--target-layer backbone.layer7]
        [--class N] [--out cam.png]

The default target layer is the backbone's last stage; the default class the predicted one.
Also run as ``mim run mmtl vis_cam ...``.
"""

import argparse
import os.path as osp
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Grad-CAM overlay of one image')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--target-layer',
        help='layer to explain (default: the last backbone stage with a map of 4+ pixels a side)',
    )
    parser.add_argument('--class', dest='class_index', type=int, help='class index to explain')
    parser.add_argument('--alpha', type=float, default=0.5, help='opacity of the heat map')
    parser.add_argument('--out', default='cam.png', help='output PNG')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def overlay(image, cam, alpha: float):
    """Blend a ``[0, 1]`` map (jet colours) over an RGB uint8 image of the same size."""
    import numpy as np
    from matplotlib import colormaps

    heat = colormaps['jet'](cam)[..., :3] * 255
    return np.clip((1 - alpha) * image + alpha * heat, 0, 255).astype(np.uint8)


def draw(args: argparse.Namespace) -> None:
    from mmtl.analysis.builders import build_model
    from mmtl.analysis.gradcam import default_target_layer, grad_cam
    from mmtl.analysis.images import load_image
    from mmtl.analysis.plotting import image_grid, save_figure
    from mmtl.utils.cli import ConfigError
    from mmtl.utils.config import load_config

    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image not found: {args.image}')
    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg, args.checkpoint, device=args.device)
    num_classes = model.head.num_classes
    if args.class_index is not None and not 0 <= args.class_index < num_classes:
        raise ConfigError(f'--class {args.class_index}: the model has classes 0..{num_classes - 1}')
    inputs, image = load_image(model, cfg, args.image)
    layer = args.target_layer or default_target_layer(model, inputs)
    cam, class_index, scores = grad_cam(model, inputs, layer, args.class_index)
    classes = model._dataset_meta.get('classes') or []
    name = classes[class_index] if class_index < len(classes) else str(class_index)
    title = f'{name} ({float(scores[class_index]):.2f})'
    figure = image_grid(
        [image, overlay(image, cam.cpu().numpy(), args.alpha)],
        ['input', title],
        cell_px=256,
        title=f'Grad-CAM at {layer}',
    )
    print(f'Grad-CAM of class {name} at {layer} written to {save_figure(figure, args.out)}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.utils.cli import run_with_clear_errors

    return run_with_clear_errors(lambda: draw(args))


if __name__ == '__main__':
    sys.exit(main())
