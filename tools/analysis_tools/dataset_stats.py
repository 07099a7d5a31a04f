"""Statistics of an image-folder dataset: images per class and split, sizes, channel mean/std.

    python tools/analysis_tools/dataset_stats.py DATA_ROOT [--config CONFIG]
        [--imbalance-threshold 3] [--max-images 1000] [--seed 0]
        [--out-file work_dirs/dataset_stats/dataset_stats.png]

Channel mean/std (RGB, 0-255) are measured on the train split (or the whole unsplit folder)
and printed next to the mean/std the config normalises with (ImageNet's by default).
Images per class and split and the image-size scatter are drawn into ``--out-file`` (PNG).
Also run as ``mim run mmtl dataset_stats ...``.
"""

import argparse

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Statistics of an image-folder dataset')
    parser.add_argument('data_root', help='<root>/{train,val,test}/<class>/ or <root>/<class>/')
    parser.add_argument('--config', help='config whose data_preprocessor mean/std to compare')
    parser.add_argument(
        '--imbalance-threshold',
        type=float,
        default=3.0,
        help='flag a split whose largest class has more than this many times the smallest',
    )
    parser.add_argument(
        '--max-images', type=int, default=1000, help='images sampled for sizes and mean/std'
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of that sample')
    parser.add_argument(
        '--out-file',
        default='work_dirs/dataset_stats/dataset_stats.png',
        help='PNG with images per class and the image-size distribution',
    )
    return parser.parse_args(argv)


def reference_normalisation(config) -> tuple:
    """``(mean, std, source)`` the model normalises with: the config's, else ImageNet's."""
    from mmtl.analysis.dataset_stats import IMAGENET_MEAN, IMAGENET_STD

    if config:
        from mmtl.config.access import model_config
        from mmtl.config.load import load_config

        pre = model_config(load_config(config)).get('data_preprocessor') or {}
        if 'mean' in pre and 'std' in pre:
            return tuple(pre['mean']), tuple(pre['std']), f'config {config}'
    return IMAGENET_MEAN, IMAGENET_STD, 'ImageNet'


def report(args: argparse.Namespace) -> None:
    from mmtl.analysis import dataset_stats as ds

    files = ds.list_split_images(args.data_root)
    classes = sorted({name for per_class in files.values() for name in per_class})
    splits = list(files)
    width = max([len('class'), len('total')] + [len(c) for c in classes])
    print('images per class:')
    print('  ' + 'class'.ljust(width) + ''.join(f'{s:>8}' for s in splits))
    for name in classes:
        cells = ''.join(f'{len(files[s].get(name, [])):>8}' for s in splits)
        print('  ' + name.ljust(width) + cells)
    totals = ''.join(f'{sum(len(v) for v in files[s].values()):>8}' for s in splits)
    print('  ' + 'total'.ljust(width) + totals)
    for split in splits:
        counts = {name: len(files[split].get(name, [])) for name in classes}
        imbalance = ds.class_imbalance(counts, args.imbalance_threshold)
        flag = 'IMBALANCED' if imbalance.flagged else 'ok'
        print(
            f'{split}: largest/smallest class = {imbalance.ratio:.2f} '
            f'({imbalance.largest} {counts[imbalance.largest]} / '
            f'{imbalance.smallest} {counts[imbalance.smallest]}): {flag} '
            f'(threshold {args.imbalance_threshold:g})'
        )
        if split in ('train', 'all'):
            for line in ds.imbalance_remedies(imbalance):
                print(line)

    measured_split = 'train' if 'train' in files else splits[0]
    paths = [p for name in classes for p in files[measured_split].get(name, [])]
    sample = ds.sample_paths(paths, args.max_images, args.seed)
    if not sample:
        raise ValueError(f'no images in the {measured_split} split of {args.data_root}')
    measured_sizes = ds.image_sizes(sample)
    sizes = ds.size_summary(measured_sizes)
    print(f'image sizes ({measured_split}, {sizes["count"]} of {len(paths)} images):')
    for axis in ('width', 'height'):
        low, median, high = sizes[axis]
        print(f'  {axis}: min {low}, median {median:g}, max {high}')
    common = ', '.join(f'{w}x{h} ({n})' for (w, h), n in sizes['most_common'])
    print(f'  most common (WxH): {common}')

    mean, std = ds.channel_stats(sample)
    ref_mean, ref_std, source = reference_normalisation(args.config)
    print(f'channel statistics (RGB, 0-255) of those images vs {source}:')
    for label, values, ref in (('mean', mean, ref_mean), ('std', std, ref_std)):
        ours = ', '.join(f'{v:.2f}' for v in values)
        theirs = ', '.join(f'{v:.2f}' for v in ref)
        print(f'  {label:<5} dataset [{ours}]  normalisation [{theirs}]')
    print(
        '  pretrained weights expect the normalisation they were trained with: keep it when '
        'fine-tuning; use the dataset figures only when training from scratch'
    )
    counts = {s: {name: len(files[s].get(name, [])) for name in classes} for s in splits}
    ds.plot_dataset_stats(counts, measured_sizes, args.out_file)
    print(f'figure (images per class, image sizes) written to {args.out_file}')


def main(argv=None) -> int:
    args = parse_args(argv)
    report(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
