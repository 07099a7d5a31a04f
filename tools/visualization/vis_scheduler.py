"""The lr schedule of a config, under OpenMMLab's tool name and flags (mmtl's ``vis_lr``).

    python tools/visualization/vis_scheduler.py CONFIG [-d DATASET_SIZE] [-n NGPUS]
        [-s SAVE_PATH] [--cfg-options KEY=VALUE ...]

Draws the lr (and momentum) the config's schedulers give over the whole run, without
training, as ``tools/visualizations/vis_lr.py`` does: ``--dataset-size`` sets the training
images per epoch (default: counted in the train dataset), ``--ngpus`` the processes (for the
iterations per epoch and ``auto_scale_lr``), ``--save-path`` the PNG. Also run as
``mim run mmtl vis_scheduler CONFIG``.
"""

import argparse
import math
import os.path as osp
import runpy

from mmtl.utils.cli import exit_tool

VIS_LR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'visualizations', 'vis_lr.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Visualize the lr schedule of a config')
    parser.add_argument('config', help='config file (or the bare name of an mmtl config)')
    parser.add_argument('-d', '--dataset-size', type=int, help='training images per epoch')
    parser.add_argument('-n', '--ngpus', type=int, default=1, help='processes (GPUs) of the run')
    parser.add_argument('-s', '--save-path', default='lr_schedule.png', help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', help='override config keys (KEY=VALUE)')
    return parser.parse_args(argv)


def vis_lr_argv(args: argparse.Namespace, vis_lr: dict) -> list:
    """The ``vis_lr.py`` arguments that do what ``args`` asks.

    Args:
        args (Namespace): This tool's arguments.
        vis_lr (dict): The globals of ``vis_lr.py`` (its ``parse_args``).

    Returns:
        list[str]: The argument list for ``vis_lr.main``.
    """
    from mmtl.config.load import load_config
    from mmtl.utils.errors import ConfigError

    options = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    argv = [args.config, '--num-gpus', str(args.ngpus), '--out', args.save_path, *options]
    if args.dataset_size is not None:
        if args.dataset_size < 1 or args.ngpus < 1:
            raise ConfigError(f'--dataset-size {args.dataset_size} --ngpus {args.ngpus}: give >= 1')
        parsed = vis_lr['parse_args']([args.config, *options])
        cfg = load_config(parsed.config, parsed.cfg_options)
        batch = cfg.train_dataloader.batch_size * args.ngpus
        rounding = math.floor if cfg.train_dataloader.get('drop_last') else math.ceil
        argv += ['--iters-per-epoch', str(max(1, rounding(args.dataset_size / batch)))]
    return argv


def main(argv=None) -> int:
    args = parse_args(argv)
    vis_lr = runpy.run_path(VIS_LR)
    return vis_lr['main'](vis_lr_argv(args, vis_lr))


if __name__ == '__main__':
    exit_tool(main)
