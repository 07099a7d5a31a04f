"""Class activation map of one image: where the model found evidence for a class.

    python tools/visualizations/vis_cam.py CONFIG CKPT IMAGE [--method gradcam]
        [--target-layers backbone.layer7] [--class NAME_OR_INDEX] [--aug-smooth]
        [--eigen-smooth] [--vit-like [--num-extra-tokens 1]] [--out cam.png]
    python tools/visualization/vis_cam.py IMAGE CONFIG CKPT ...     # OpenMMLab's order

Both orders are accepted by both files (the config is the ``.py`` argument). ``--method``
picks a pytorch-grad-cam method: gradcam, gradcam++, scorecam, eigencam, eigengradcam,
layercam, xgradcam. The default
target layer is the last backbone stage whose map keeps 4+ pixels a side; the default class
the predicted one. ``--class`` takes a class name or an index. Also run as
``mim run mmtl vis_cam ...``.
"""

import argparse
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import add_device_argument, resolve_device

#: mmpretrain's vis_cam method names that differ from mmtl's.
METHOD_ALIASES = {'gradcamplusplus': 'gradcam++'}


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.analysis.gradcam import CAM_METHODS

    parser = argparse.ArgumentParser(description='Class activation map overlay of one image')
    parser.add_argument(
        'inputs', nargs=3, metavar='CONFIG CKPT IMAGE', help='or IMAGE CONFIG CKPT (OpenMMLab)'
    )
    parser.add_argument(
        '--target-layers',
        '--target-layer',
        dest='target_layers',
        nargs='+',
        help='layer(s) to explain (default: the last backbone stage with a 4+ pixel map)',
    )
    parser.add_argument(
        '--method',
        default='gradcam',
        type=lambda name: METHOD_ALIASES.get(name.lower(), name.lower()),
        choices=list(CAM_METHODS),
        help='CAM method (default: gradcam)',
    )
    parser.add_argument(
        '--class',
        '--target-category',
        dest='target_class',
        help='class to explain: its name or index (default: the predicted one)',
    )
    parser.add_argument('--aug-smooth', action='store_true', help='test-time augmentation')
    parser.add_argument('--eigen-smooth', action='store_true', help='first principal component')
    parser.add_argument(
        '--vit-like', action='store_true', help='the layer outputs tokens (ViT): reshape to a map'
    )
    parser.add_argument(
        '--num-extra-tokens', type=int, default=1, help='non-patch tokens with --vit-like'
    )
    parser.add_argument('--alpha', type=float, default=0.5, help='opacity of the heat map')
    parser.add_argument('--out', '--save-path', dest='out', default='cam.png', help='output PNG')
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = parser.parse_args(argv)
    args.config, args.checkpoint, args.image = order_inputs(args.inputs)
    return args


def order_inputs(inputs: Sequence[str]) -> List[str]:
    """``[config, checkpoint, image]`` from mmtl's order or OpenMMLab's (image first)."""
    from mmtl.utils.errors import ConfigError

    if inputs[0].endswith('.py'):
        return list(inputs)
    if inputs[1].endswith('.py'):
        return [inputs[1], inputs[2], inputs[0]]
    raise ConfigError(
        f'{" ".join(inputs)}: no config (.py) first or second; give CONFIG CKPT IMAGE '
        'or IMAGE CONFIG CKPT'
    )


def resolve_class(value: Optional[str], classes: Sequence[str], num_classes: int):
    """The class index that ``--class`` names: a class name first, else an index.

    Raises:
        ConfigError: Neither a class name nor an index in range.
    """
    from mmtl.utils.errors import ConfigError

    if value is None:
        return None
    names = [str(c) for c in classes]
    if value in names:
        return names.index(value)
    if value.lstrip('-').isdigit() and 0 <= int(value) < num_classes:
        return int(value)
    known = f' and no class named {value!r} (names: {", ".join(names)})' if names else ''
    raise ConfigError(f'--class {value}: the model has classes 0..{num_classes - 1}{known}')


def overlay(image, cam, alpha: float):
    """Blend a ``[0, 1]`` map (jet colours) over an RGB uint8 image of the same size."""
    import numpy as np
    from matplotlib import colormaps

    heat = colormaps['jet'](cam)[..., :3] * 255
    return np.clip((1 - alpha) * image + alpha * heat, 0, 255).astype(np.uint8)


def draw(args: argparse.Namespace) -> None:
    from mmtl.analysis.gradcam import (
        CAM_METHODS,
        class_activation_map,
        default_target_layer,
        vit_reshape_transform,
    )
    from mmtl.analysis.images import load_image
    from mmtl.apis import init_model
    from mmtl.config.load import load_config
    from mmtl.utils.errors import ConfigError
    from mmtl.visualization.figure import image_grid, save_figure

    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image not found: {args.image}')
    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=resolve_device(args.device))
    classes = list(model._dataset_meta.get('classes') or [])
    class_index = resolve_class(args.target_class, classes, model.head.num_classes)
    inputs, image = load_image(model, cfg, args.image)
    layers = args.target_layers or [default_target_layer(model, inputs)]
    reshape = vit_reshape_transform(args.num_extra_tokens) if args.vit_like else None
    try:
        cam, class_index, scores = class_activation_map(
            model,
            inputs,
            layers,
            class_index,
            method=args.method,
            aug_smooth=args.aug_smooth,
            eigen_smooth=args.eigen_smooth,
            reshape_transform=reshape,
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None
    name = str(classes[class_index]) if class_index < len(classes) else str(class_index)
    title = CAM_METHODS[args.method][1]
    figure = image_grid(
        [image, overlay(image, cam.cpu().numpy(), args.alpha)],
        ['input', f'{name} ({float(scores[class_index]):.2f})'],
        cell_px=256,
        title=f'{title} at {", ".join(layers)}',
    )
    save_figure(figure, args.out)
    print(f'{title} of class {name} at {", ".join(layers)} written to {args.out}')


def main(argv=None) -> int:
    draw(parse_args(argv))
    return 0


if __name__ == '__main__':
    exit_tool(main)
