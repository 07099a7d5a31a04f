"""Per-module table, parameter counts, FLOPs and training memory of a config's model.

    python tools/analysis_tools/model_summary.py CONFIG [--checkpoint CKPT] [--batch-size B]
        [--input-size 224] [--measure] [--arch] [--no-layers] [--device auto|cpu|cuda|cuda:N]
        [--cfg-options KEY=VALUE ...]

The per-module parameters, FLOPs and activations come from mmengine's
``get_model_complexity_info`` (its table, nested three levels; ``--arch`` prints the whole
architecture annotated instead). Then the totals, the layers by type, and mmtl's training
memory estimate for the run's optimizer at batch B. ``--measure`` runs one real training
step on random data at batch B and prints its peak memory next to the estimate. Also run as
``mim run mmtl model_summary CONFIG ...``.
"""

import argparse

from mmengine.config import DictAction

from mmtl.utils.cli import add_image_size_argument, exit_tool, image_size_from_args
from mmtl.utils.run_args import add_device_argument, resolve_device


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Summarise a model: layers, params, FLOPs')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='weights to load (default: random init)')
    parser.add_argument(
        '--batch-size', type=int, help='batch of the memory estimate (default: the train batch)'
    )
    add_image_size_argument(parser, '--input-size')
    parser.add_argument(
        '--measure', action='store_true', help='also measure the peak memory of one train step'
    )
    parser.add_argument('--no-layers', action='store_true', help='leave out the module table')
    parser.add_argument(
        '--arch', action='store_true', help='print the annotated architecture, not the table'
    )
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def summarise(args: argparse.Namespace) -> None:
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from mmtl.analysis import model_summary as ms
    from mmtl.apis import init_model
    from mmtl.config.access import input_size_from_config
    from mmtl.config.load import load_config

    size = image_size_from_args(args.input_size, '--input-size')
    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=resolve_device(args.device))
    height, width = size or input_size_from_config(cfg)
    input_shape = (3, height, width)
    batch_size = args.batch_size or (cfg.get('train_dataloader') or {}).get('batch_size', 1)

    try:
        info = ms.model_complexity(
            model, input_shape, show_table=not args.no_layers, show_arch=args.arch
        )
    except Exception as err:  # a model FlopAnalyzer cannot trace must not hide the rest
        info = None
        print(f'FLOPs: could not be counted ({type(err).__name__}: {err})')
    if info is not None and not args.no_layers:
        print(info['out_arch'] or info['out_table'])
    total, trainable = ms.count_params(model)
    print(f'\nparameters: {total:,} total, {trainable:,} trainable ({total - trainable:,} frozen)')
    if info is not None:
        print(
            f'FLOPs at 1x3x{height}x{width}: {ms.format_count(info["flops"])} (multiply-adds); '
            f'activations {ms.format_count(info["activations"])}'
        )
    print(f'layers by type: {ms.format_layer_types(model)}')

    optimizer = None  # a model-only config: the estimate assumes SGD with momentum
    if cfg.get('optim_wrapper'):
        scope = cfg.get('default_scope', 'mmtl')
        with ms.quiet_mmengine_logger('WARNING'), DefaultScope.overwrite_default_scope(scope):
            optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    estimate = ms.estimate_training_memory(model, input_shape, batch_size, optimizer)
    print(ms.format_memory(estimate))
    if args.measure:
        num_classes = cfg.model.get('head', {}).get('num_classes', 2)
        measured = ms.measure_training_step(model, input_shape, batch_size, optimizer, num_classes)
        ratio = measured['peak_bytes'] / max(estimate.total, 1)
        print(
            f'measured peak of one training step on {measured["device"]}: '
            f'{ms.format_bytes(measured["peak_bytes"])} ({measured["method"]}); '
            f'measured / estimate = {ratio:.2f}'
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    summarise(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
