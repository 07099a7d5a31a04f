"""Sanity check before a long run: can the model memorise one small batch?

    python tools/analysis_tools/overfit_batch.py CONFIG [--steps 100] [--batch-size 8]
        [--target 0.05] [--shuffle-labels] [--cfg-options KEY=VALUE ...]

Takes a few images of every class of the train split through the train pipeline once,
then trains on that fixed batch with the config's optimizer and lr (no schedule), printing
the loss per step. Exit code 0 when the loss falls below the target, 2 with a diagnosis
when it does not, 1 on a bad argument (such as a missing config). ``--shuffle-labels``
gives every image a new random label at every step: a control run that must fail.
Also run as ``mim run mmtl overfit_batch ...``.
"""

import argparse
import sys
import uuid

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool
from mmtl.utils.run_args import add_device_argument, resolve_device


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Overfit one small batch')
    parser.add_argument('config', help='config file')
    parser.add_argument('--steps', type=int, default=100, help='most optimisation steps')
    parser.add_argument('--batch-size', type=int, default=8, help='images in the batch')
    parser.add_argument('--target', type=float, default=0.05, help='loss that counts as ~0')
    parser.add_argument('--seed', type=int, default=0, help='seed of weights and pipeline')
    parser.add_argument(
        '--shuffle-labels', action='store_true', help='control run: new random labels each step'
    )
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


class OverfitFailed(Exception):
    """The loss did not reach the target; the message is the diagnosis."""


def shuffled_labels(num_classes: int, seed: int):
    """A ``relabel`` function giving every sample a fresh random label at each step."""
    import copy

    import torch

    generator = torch.Generator().manual_seed(seed)

    def relabel(samples: list, step: int) -> list:
        fresh = copy.deepcopy(samples)
        for sample in fresh:
            sample.set_gt_label(int(torch.randint(num_classes, (1,), generator=generator)))
        return fresh

    return relabel


def run(args: argparse.Namespace) -> None:
    from mmengine.dataset import pseudo_collate
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from mmtl.analysis.overfit import balanced_indices, overfit_batch
    from mmtl.apis import init_model
    from mmtl.config.load import load_config
    from mmtl.datasets.builder import build_dataset
    from mmtl.engine.hooks.class_weight_hook import apply_auto_class_weights
    from mmtl.utils.errors import ConfigError

    # This run's own logger, writing to today's sys.stdout: mmengine's current logger may hold
    # the stream of an earlier in-process caller, closed since.
    MMLogger.get_instance(f'mmtl_overfit_batch_{uuid.uuid4().hex}', log_level='INFO')
    set_random_seed(args.seed)
    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, device=resolve_device(args.device))
    dataset = build_dataset(cfg, 'train')
    if len(dataset) == 0:
        raise ConfigError(f'the train split of {cfg.get("data_root")} is empty')
    weights = apply_auto_class_weights(model, dataset)  # class_weight='auto', as in training
    if weights:
        print(f'class_weight=auto: {weights}')
    labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
    batch = [dataset[i] for i in balanced_indices(labels, args.batch_size, args.seed)]

    data = model.data_preprocessor(pseudo_collate(batch), True)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # the optimizer builder logs one line per parameter
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    logger.setLevel(level)
    lrs = sorted({group['lr'] for group in optimizer.param_groups})
    print(
        f'{len(batch)} images, {type(optimizer).__name__} lr {lrs}, '
        f'up to {args.steps} steps, target loss {args.target:g}'
    )
    relabel = None
    if args.shuffle_labels:
        relabel = shuffled_labels(cfg.model.head.num_classes, args.seed)
    result = overfit_batch(
        model,
        data['inputs'],
        data['data_samples'],
        optimizer,
        steps=args.steps,
        target=args.target,
        relabel=relabel,
        on_step=lambda step, loss: print(f'step {step:4d}  loss {loss:.4f}', flush=True),
    )
    if not result.success:
        raise OverfitFailed(result.diagnosis)
    print(
        f'ok: loss {result.losses[-1]:.4f} < {args.target:g} after {len(result.losses) - 1} steps'
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except OverfitFailed as failure:
        print(f'FAILED: {failure}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    exit_tool(main)
