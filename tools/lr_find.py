"""Find a learning rate: a short exponential lr sweep on your data with the config's strategy.

    python tools/lr_find.py CONFIG [--start-lr 1e-6] [--end-lr 1] [--num-iters 60]
                                   [--work-dir DIR] [--auto-scale-lr] [--cfg-options ...]

Also run as ``mim run mmtl lr_find CONFIG``. The config's model (``load_from`` weights,
frozen modules), data and optimizer (``lr_mult``, layer decay) are used as training would;
the lr grows until the loss diverges. Prints the suggested lr, the ``--cfg-options`` that sets
it (for the config's ``auto_scale_lr.base_batch_size`` when lr scaling is on), and plots the
sweep to ``<work_dir>/lr_find/lr_find.png``. Nothing is trained for real: no checkpoint is written.
"""

import os.path as osp

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import parse_tool_args, select_device, train_parser


def parser():
    """The train arguments (same config meaning) plus the sweep's."""
    args = train_parser()
    args.description = 'Learning-rate range test (lr sweep) of a config'
    args.add_argument('--start-lr', type=float, default=1e-6, help='first lr (default 1e-6)')
    args.add_argument('--end-lr', type=float, default=1.0, help='last lr (default 1)')
    args.add_argument('--num-iters', type=int, default=60, help='sweep length (default 60)')
    return args


def main(argv=None) -> int:
    args = parse_tool_args(parser(), argv)

    select_device(args.device)
    from mmtl.analysis.lr_find import lr_range_test, plot_lr_find
    from mmtl.apis.runner_setup import build_runner, prepare_train_config
    from mmtl.engine.runner import accumulative_counts_of

    cfg = prepare_train_config(args)
    cfg.work_dir = osp.join(cfg.work_dir, 'lr_find')  # beside the runs, whichever work dir
    runner = build_runner(cfg)
    loader = runner.train_dataloader
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.load_or_resume()  # the config's load_from weights: the sweep starts from them
    result = lr_range_test(
        runner.model, loader, optim_wrapper, args.start_lr, args.end_lr, args.num_iters
    )
    per_process = loader.batch_size or loader.batch_sampler.batch_size
    batch = runner.world_size * per_process * accumulative_counts_of(optim_wrapper)
    stop = (
        f'diverged at lr {result.diverged_at:.3g}'
        if result.diverged_at
        else 'did not diverge (raise --end-lr)'
    )
    print(f'lr sweep: {len(result.lrs)} iterations at batch {batch}; the loss {stop}')
    lr = result.suggested_lr
    scaling = cfg.get('auto_scale_lr') or {}
    base = scaling.get('base_batch_size')
    if scaling.get('enable') and base:
        lr = lr * base / batch
        note = f' (for base_batch_size {base}; auto_scale_lr scales it to batch {batch})'
    else:
        note = f' (at batch {batch}; auto_scale_lr is off)'
    print(f'suggested lr {lr:.3g}{note}')
    print(f'plot: {plot_lr_find(result, osp.join(runner.work_dir, "lr_find.png"))}')
    print(f'use it: --cfg-options optim_wrapper.optimizer.lr={lr:.3g}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
