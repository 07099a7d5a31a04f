"""Plot the lr (and momentum) a config's schedulers give over the whole run, without training.

    python tools/visualizations/vis_lr.py CONFIG [--iters-per-epoch N] [--num-gpus G]
        [--out lr_schedule.png] [--cfg-options KEY=VALUE ...]

Iterations per epoch come from the train dataset (its size / batch size) unless given.
With ``auto_scale_lr.enable``, the lr is scaled as the Runner would on G processes.
Also run as ``mim run mmtl vis_lr ...``.
"""

import argparse
import math

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot the lr schedule of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--iters-per-epoch', type=int, help='batches per epoch (default: from the train dataset)'
    )
    parser.add_argument('--num-gpus', type=int, default=1, help='processes, for auto_scale_lr')
    parser.add_argument('--out', default='lr_schedule.png', help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def iters_per_epoch(cfg, num_gpus: int) -> int:
    """Batches per epoch of the train loader on ``num_gpus`` processes."""
    from mmtl.datasets.builder import build_dataset
    from mmtl.utils.errors import ConfigError

    try:
        size = len(build_dataset(cfg, 'train'))
    except (FileNotFoundError, OSError, RuntimeError) as err:
        raise ConfigError(
            f'cannot count the train images ({err}); pass --iters-per-epoch N'
        ) from None
    loader = cfg.train_dataloader
    batch_sampler = loader.get('batch_sampler') or {}
    if str(batch_sampler.get('type', '')).endswith('SmallDataBatchSampler'):
        from mmtl.datasets import SmallDataBatchSampler

        per_process = [None] * math.ceil(size / num_gpus)  # DefaultSampler pads the ranks
        ratio = batch_sampler.get('min_last_ratio', 0.5)
        drop = batch_sampler.get('drop_last')
        return max(1, len(SmallDataBatchSampler(per_process, loader.batch_size, ratio, drop)))
    batch = loader.batch_size * num_gpus
    rounding = math.floor if loader.get('drop_last') else math.ceil
    return max(1, rounding(size / batch))


def draw(args: argparse.Namespace) -> None:
    from mmtl.analysis.lr_schedule import simulate_schedule
    from mmtl.apis import init_model
    from mmtl.config.load import load_config
    from mmtl.engine.runner import lr_scale_factor
    from mmtl.visualization.figure import new_figure, save_figure

    cfg = load_config(args.config, args.cfg_options)
    epoch_length = args.iters_per_epoch or iters_per_epoch(cfg, args.num_gpus)
    scale = lr_scale_factor(cfg, args.num_gpus)
    schedule = simulate_schedule(cfg, epoch_length, scale, model=init_model(cfg))
    print(
        f'{len(schedule.iters) - 1} iterations ({epoch_length} per epoch); lr x{scale:g}: '
        f'start {schedule.lr[0]:.6g}, peak {max(schedule.lr):.6g}, '
        f'last iteration {schedule.lr[-2]:.6g}'
    )
    for label, values in schedule.groups.items():
        print(f'  {label}: start {values[0]:.6g}, peak {max(values):.6g}')
    rows = 2 if schedule.momentum else 1
    figure = new_figure((7, 3 * rows))
    series = [('lr', schedule.groups)]
    if rows == 2:
        series.append(('momentum', {'': schedule.momentum}))
    for idx, (name, curves) in enumerate(series):
        axes = figure.add_subplot(rows, 1, idx + 1)
        for label, values in curves.items():
            axes.plot(schedule.iters, values, label=label or None)
        if len(curves) > 1:
            axes.legend(fontsize=7)
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        epochs = axes.secondary_xaxis(
            'top', functions=(lambda x: x / epoch_length, lambda e: e * epoch_length)
        )
        epochs.set_xlabel('epoch')
    axes.set_xlabel('iteration')
    figure.tight_layout()
    save_figure(figure, args.out)
    print(f'lr schedule written to {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    draw(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
