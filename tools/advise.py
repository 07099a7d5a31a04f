"""Recommend a transfer-learning strategy for your data and pretrained weights.

    python tools/advise.py CONFIG [--cfg-options data_root=... load_from=...]
        [--work-dir DIR] [--max-per-class 100] [--max-val 500]
        [--trials N --budget EPOCHS [--rungs R] [--folds K]]
    mim run mmtl advise CONFIG --cfg-options data_root=data/my_photos load_from=weights.pth

Measures the dataset (images per class, imbalance, image sizes) and how well the frozen
features of each backbone stage separate your classes (ridge probe on the train split,
scored on val), pretrained against randomly initialised; places the data in the
size x similarity matrix and writes, into DIR (default ``work_dirs/advise_<config>``):
``advice.json`` (every figure), ``similarity.png`` (probe top-1 per stage) and
``recommended_config.py`` (your config + the strategy, ready for ``mim train mmtl``).

``--trials N`` then trains N candidate strategies in short runs (each in its own process;
successive halving on val top-1, the last rung ``--budget`` epochs; ``--rungs 1``: every
candidate for the whole budget), prints a leaderboard
(``leaderboard.json``, ``leaderboard.png``) and writes the winner as ``best_config.py``.
When val has fewer than 20 images per class (or is the training set), each trial is a
k-fold cross-validation (``tools/cross_validate.py``, ``--folds``) scored by its pooled
out-of-fold top-1 instead.
"""

import argparse
import dataclasses
import functools
import json
import os
import os.path as osp

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='your training config (or an mmtl config name)')
    parser.add_argument('--work-dir', help='default: work_dirs/advise_<config name>')
    parser.add_argument('--max-per-class', type=int, default=100, help='train images probed')
    parser.add_argument('--max-val', type=int, default=500, help='val images the probe scores')
    parser.add_argument('--batch-size', type=int, default=64, help='images per forward pass')
    parser.add_argument('--trials', type=int, default=0, help='candidates to train (0: none)')
    parser.add_argument(
        '--budget', type=int, help='epochs of the longest trials (default: the recommended)'
    )
    parser.add_argument(
        '--rungs',
        type=int,
        help='successive-halving rungs (default: halve down to one candidate); 1: every '
        'candidate trains the whole budget, no halving',
    )
    parser.add_argument(
        '--folds',
        type=int,
        help='score each trial by k-fold cross-validation (default: 3-5 folds when val has '
        'fewer than 20 images per class or is the training set; 0: never)',
    )
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    args = parser.parse_args(argv)
    for name in ('max_per_class', 'max_val', 'batch_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1')
    if args.trials < 0 or (args.budget is not None and args.budget < 1):
        parser.error('--trials must be >= 0 and --budget >= 1')
    if args.folds is not None and (args.folds < 0 or 0 < args.folds < 3):
        parser.error('--folds must be 0 (no cross-validation) or at least 3')
    if args.rungs is not None and args.rungs < 1:
        parser.error('--rungs must be at least 1')
    return args


def run(args: argparse.Namespace) -> None:
    from mmtl.advisor import advisor as adv
    from mmtl.advisor.strategies import overrides
    from mmtl.advisor.trials import (
        cross_validation_folds,
        format_leaderboard,
        leaderboard,
        pooled_top1,
        run_cross_validation,
        run_training,
        successive_halving,
    )
    from mmtl.analysis.logs import best_value
    from mmtl.apis.runner_setup import check_load_from
    from mmtl.config.access import merged, write_child_config
    from mmtl.config.check import check_data_roots
    from mmtl.config.load import load_config, resolve_config_path
    from mmtl.engine.runner import lr_scale_factor
    from mmtl.utils.errors import ConfigError
    from mmtl.utils.fileio import atomic_open

    config_path = resolve_config_path(args.config)
    cfg = load_config(config_path, args.cfg_options)
    check_data_roots(cfg)
    if not cfg.get('load_from'):
        raise ConfigError(
            f'{args.config}: load_from is not set; the advisor compares the pretrained backbone '
            'with a random one: add --cfg-options load_from=/path/to/pretrained.pth'
        )
    check_load_from(cfg)
    name = osp.splitext(osp.basename(config_path))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'advise_{name}')
    os.makedirs(work_dir, exist_ok=True)

    profile, meas, rec = adv.advise(
        cfg,
        max_per_class=args.max_per_class,
        max_val=args.max_val,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    ctx = adv.strategy_context(cfg, meas, rec.cut, rec.epochs)
    factor = lr_scale_factor(cfg)  # the lr printed is the one training uses
    print('similarity per stage (ridge probe val top-1 %, pretrained / random):')
    for stage, pre, rand in zip(meas.stages, meas.pretrained, meas.random):
        print(f'  {stage:<20s} {pre:6.1f} / {rand:6.1f}')
    print(f'matrix cell: {rec.size} data, {rec.similarity} features')
    for reason in rec.reasons:
        print(f'  - {reason}')
    report = adv.report_dict(profile, meas, rec, ctx, factor)
    patience, _ = adv.early_stopping_overrides(cfg, rec.epochs)
    print(adv.format_recommendation(rec, report['recommendation']))
    comments = [f'Written by tools/advise.py: strategy {rec.strategy}', *rec.reasons]
    options = dict(args.cfg_options or {})
    recommended = write_child_config(
        osp.join(work_dir, 'recommended_config.py'),
        config_path,
        merged(overrides(rec.strategy, ctx), patience),
        options,
        tuple(comments),
    )
    adv.plot_measurements(meas, osp.join(work_dir, 'similarity.png'))
    with atomic_open(osp.join(work_dir, 'advice.json'), 'w') as f:
        json.dump(report, f, indent=2, default=str)
    print(f'recommended config written to {recommended}')
    print(
        f'figures in {osp.join(work_dir, "advice.json")} and {osp.join(work_dir, "similarity.png")}'
    )
    if not args.trials:
        return

    budget = args.budget or rec.epochs
    cands = adv.candidate_list(rec.strategy, ctx, args.trials)
    trial_dir = osp.join(work_dir, 'trials')
    print(f'trials: {len(cands)} candidates, successive halving, last rung {budget} epochs')
    folds = args.folds
    if folds is None:
        folds = cross_validation_folds(
            profile.val_images, profile.train_counts, meas.cross_validated
        )
    score = functools.partial(best_value, metric='accuracy/top1')
    run, metric = run_training, 'best val top-1'
    if folds:
        splits = ('train',) if meas.cross_validated else ('train', 'val')
        run = functools.partial(run_cross_validation, folds=folds, splits=splits)
        score, metric = pooled_top1, 'out-of-fold top-1'
        print(
            f'{profile.val_images} val images for {len(profile.classes)} classes: each trial '
            f'is a {folds}-fold cross-validation of {" + ".join(splits)} ({folds} trainings), '
            'scored by its out-of-fold top-1'
        )

    def write_config(cand, epochs, path):
        epochs_cfg = {'train_cfg': {'max_epochs': epochs}}
        overrides = merged(cand.overrides, epochs_cfg, adv.early_stopping_overrides(cfg, epochs)[0])
        return write_child_config(path, config_path, overrides, options)

    results = successive_halving(
        cands, budget, trial_dir, write_config, run=run, score=score, rungs=args.rungs
    )
    rows = leaderboard(results)
    print(format_leaderboard(rows, metric))
    with atomic_open(osp.join(work_dir, 'leaderboard.json'), 'w') as f:
        json.dump([dataclasses.asdict(r) for r in rows], f, indent=2)
    adv.plot_leaderboard(rows, osp.join(work_dir, 'leaderboard.png'))
    winner = next((r for r in rows if r.top1 is not None), None)
    if winner is None:
        raise RuntimeError(f'every trial failed; see the trial_output.log files in {trial_dir}')
    best = next(c for c in cands if c.name == winner.name)
    best_config = write_child_config(
        osp.join(work_dir, 'best_config.py'),
        config_path,
        merged(best.overrides, {'train_cfg': {'max_epochs': rec.epochs}}, patience),
        options,
        (f'Written by tools/advise.py --trials: {best.name}, {winner.top1:.2f} % {metric}',),
    )
    print(f'winner: {best.name}; config written to {best_config}')


def main(argv=None) -> int:
    args = parse_args(argv)
    run(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
