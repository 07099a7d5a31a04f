"""Random search: sample config values, train N short trials, rank them by a val metric.

    python tools/random_search.py CONFIG --trials 8 --epochs 5 \\
        --space 'optim_wrapper.optimizer.lr=loguniform(1e-4,1e-1)' \\
                'optim_wrapper.optimizer.weight_decay=loguniform(1e-6,1e-2)' \\
        --work-dir work_dirs/search --cfg-options data_root=data/my_photos
    mim run mmtl random_search CONFIG ...

Each trial runs tools/train.py in its own process and folder (WORK_DIR/trial_NNN). The
leaderboard (best first) is printed and saved as WORK_DIR/leaderboard.{csv,json}, and the
config with the best values (and the original epochs) as WORK_DIR/best_config.py.
"""

import argparse
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import DictAction

from mmtl.search import Trial, parse_search_space, sample_trials, write_leaderboard
from mmtl.search.random_search import best_val_metric, ranked
from mmtl.utils.config import read_config

TRAIN_TOOL = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or the name of an mmtl config')
    parser.add_argument('--space', nargs='+', required=True, help='KEY=DIST(ARGS) specs')
    parser.add_argument('--trials', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=None, help='epochs per trial')
    parser.add_argument('--metric', default='accuracy/top1')
    parser.add_argument('--rule', choices=['greater', 'less'], default='greater')
    parser.add_argument('--seed', type=int, default=0, help='seed of the sampling')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def _option(key: str, value) -> str:
    return f'{key}={value}'


def run_trial(args: argparse.Namespace, trial: Trial) -> None:
    """Train one trial in a subprocess and read its best val metric."""
    options = [_option(k, v) for k, v in args.cfg_options.items()]
    options += [_option(k, v) for k, v in trial.params.items()]
    if args.epochs:
        options.append(f'train_cfg.max_epochs={args.epochs}')
    command = [sys.executable, TRAIN_TOOL, args.config, '--work-dir', trial.work_dir]
    command += ['--cfg-options', *options]
    os.makedirs(trial.work_dir, exist_ok=True)
    with open(osp.join(trial.work_dir, 'trial_output.log'), 'w') as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    trial.score = best_val_metric(trial.work_dir, args.metric, args.rule)
    if code != 0:
        trial.status = f'failed (exit {code})'
    elif trial.score is None:
        trial.status = f'no {args.metric}'
    else:
        trial.status = 'done'


def main(argv=None) -> int:
    args = parse_args(argv)
    space = parse_search_space(args.space)
    # As written (not resolved): best_config.py keeps data_root as one key, 'auto' workers.
    base_cfg = read_config(args.config, dict(args.cfg_options))  # fails early on bad options
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_search'
    )
    os.makedirs(work_dir, exist_ok=True)
    trials = [
        Trial(i, params, osp.join(work_dir, f'trial_{i:03d}'))
        for i, params in enumerate(sample_trials(space, args.trials, args.seed))
    ]
    for trial in trials:
        run_trial(args, trial)
        shown = ', '.join(
            f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}' for k, v in trial.params.items()
        )
        print(
            f'trial {trial.index}: {shown} -> {args.metric} {trial.score} ({trial.status})',
            flush=True,
        )
    print(write_leaderboard(trials, work_dir, args.metric, args.rule))
    best = ranked(trials, args.rule)[0]
    if best.score is None:
        print(f'no trial reported {args.metric}; see {work_dir}/trial_*/trial_output.log')
        return 1
    base_cfg.merge_from_dict(best.params)
    best_path = osp.join(work_dir, 'best_config.py')
    base_cfg.dump(best_path)
    print(f'leaderboard: {work_dir}/leaderboard.csv; best config (trial {best.index}): {best_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
