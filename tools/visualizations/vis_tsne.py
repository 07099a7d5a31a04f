"""t-SNE of the penultimate features (neck output) of a split, coloured by class.

    python tools/visualizations/vis_tsne.py CONFIG CKPT [--split test] [--out tsne.png]
        [--save-features feats.npz]

Also run as ``mim run mmtl vis_tsne ...``.
"""

import argparse

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import add_device_argument, resolve_device


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='t-SNE of penultimate features')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--perplexity', type=float, default=30.0, help='t-SNE perplexity')
    parser.add_argument('--max-iter', type=int, default=1000, help='t-SNE iterations (>= 250)')
    parser.add_argument('--seed', type=int, default=0, help='t-SNE random state')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--out', default='tsne.png', help='output PNG')
    parser.add_argument('--save-features', help='also save features and labels to this .npz')
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def draw(args: argparse.Namespace) -> None:
    import numpy as np
    from matplotlib import colormaps
    from sklearn.manifold import TSNE

    from mmtl.analysis.images import extract_features
    from mmtl.apis import init_model
    from mmtl.config.load import load_config
    from mmtl.datasets.builder import build_dataset
    from mmtl.utils.errors import ConfigError
    from mmtl.visualization.figure import new_figure, save_figure

    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=resolve_device(args.device))
    # Features of the split as the model sees it at test time (no augmentation).
    dataset = build_dataset(cfg, args.split, test_pipeline=args.split == 'train')
    features, labels = extract_features(model, dataset, args.batch_size)
    print(f'{len(features)} {args.split} images, {features.shape[1]}-d features')
    if args.save_features:
        np.savez(args.save_features, features=features, labels=labels)
        print(f'features written to {args.save_features}')
    if len(features) < 3:
        raise ConfigError(
            f't-SNE needs at least 3 images; the {args.split} split has {len(features)}'
        )
    perplexity = min(args.perplexity, (len(features) - 1) / 3)
    embedded = TSNE(
        n_components=2,
        perplexity=perplexity,
        init='pca',
        max_iter=args.max_iter,
        random_state=args.seed,
    ).fit_transform(features)
    classes = dataset.metainfo.get('classes') or [str(i) for i in range(labels.max() + 1)]
    figure = new_figure((7, 6))
    axes = figure.add_subplot(1, 1, 1)
    colours = colormaps['tab20' if len(classes) > 10 else 'tab10']
    for label, name in enumerate(classes):
        points = embedded[labels == label]
        if len(points):
            axes.scatter(
                points[:, 0], points[:, 1], s=8, color=colours(label % colours.N), label=name
            )
    axes.set_title(f't-SNE of {args.split} features (perplexity {perplexity:.0f})')
    axes.legend(fontsize=7, markerscale=2, loc='best', ncol=2 if len(classes) > 15 else 1)
    save_figure(figure, args.out)
    print(f't-SNE plot written to {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    draw(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
