"""Hyper-parameter search on Optuna: sample config values, train trials, prune, rank them.

    python tools/random_search.py CONFIG --trials 12 --epochs 5 \\
        --space 'optim_wrapper.optimizer.lr=loguniform(1e-4,1e-1)' \\
                'optim_wrapper.optimizer.weight_decay=loguniform(1e-6,1e-2)' \\
        [--sampler tpe|random] [--pruner median|none] [--study-name NAME] \\
        [--storage sqlite:///work_dirs/search/study.db] \\
        --work-dir work_dirs/search --cfg-options data_root=data/my_photos
    mim run mmtl random_search CONFIG ...

Each trial trains in its own process and folder (WORK_DIR/trial_NNN, output in
trial_output.log) through ``python -m mmtl.search.trial_runner`` (tools/train.py plus a
hook that reports the val metric to the trial after each epoch; the median pruner stops a
trial whose metric falls below the median of earlier trials at that epoch). The study is
kept in ``--storage`` (default: WORK_DIR/study.db): ``--trials N`` is the size of the
study, so running the same command again after a stop resumes it with the trials already
done. The leaderboard (best first) is printed and saved as WORK_DIR/leaderboard.{csv,json},
the best trial's values (not its epochs) on top of CONFIG as WORK_DIR/best_config.py, and
Optuna's history and parameter-importance plots as WORK_DIR/optuna_{history,importances}.png.
"""

import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from mmtl.analysis.logs import best_value, ranked
from mmtl.config.access import write_child_config
from mmtl.config.load import read_config
from mmtl.search.random_search import write_leaderboard
from mmtl.utils.cli import exit_tool
from mmtl.utils.processes import run_logged


def parse_args(argv=None) -> argparse.Namespace:
    from mmtl.search.optuna_search import PRUNERS, SAMPLERS

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file or the name of an mmtl config')
    parser.add_argument('--space', nargs='+', required=True, help='KEY=DIST(ARGS) specs')
    parser.add_argument('--trials', type=int, default=8, help='trials in the study (in all)')
    parser.add_argument('--epochs', type=int, default=None, help='epochs per trial')
    parser.add_argument('--metric', default='accuracy/top1')
    parser.add_argument('--rule', choices=['greater', 'less'], default='greater')
    parser.add_argument('--sampler', choices=sorted(SAMPLERS), default='tpe')
    parser.add_argument('--pruner', choices=sorted(PRUNERS), default='median')
    parser.add_argument(
        '--n-startup-trials', type=int, default=2, help='trials finished before any pruning'
    )
    parser.add_argument(
        '--n-warmup-steps', type=int, default=0, help='epochs of a trial never pruned'
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of the sampler')
    parser.add_argument('--study-name', help='name of the study (default: the config name)')
    parser.add_argument('--storage', help='Optuna storage URL (default: WORK_DIR/study.db)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def run_trial(args: argparse.Namespace, study, trial, params: dict, work_dir: str) -> str:
    """Train one trial in a subprocess, tell the study how it ended; its status line."""
    from optuna.trial import TrialState

    from mmtl.search.optuna_search import STATUS_ATTR, WORK_DIR_ATTR, pruned_status
    from mmtl.search.trial_runner import PRUNED_EXIT

    options = [f'{k}={v}' for k, v in {**args.cfg_options, **params}.items()]
    if args.epochs:
        options.append(f'train_cfg.max_epochs={args.epochs}')
    command = [sys.executable, '-m', 'mmtl.search.trial_runner', args.config]
    command += ['--work-dir', work_dir, '--optuna-storage', args.storage]
    command += ['--optuna-study', study.study_name, '--optuna-trial', str(trial.number)]
    command += ['--optuna-metric', args.metric, '--optuna-pruner', args.pruner]
    command += ['--optuna-startup-trials', str(args.n_startup_trials)]
    command += ['--optuna-warmup-steps', str(args.n_warmup_steps), '--cfg-options', *options]
    trial.set_user_attr(WORK_DIR_ATTR, work_dir)
    code = run_logged(command, osp.join(work_dir, 'trial_output.log'))
    score = best_value(work_dir, args.metric, args.rule)
    if code == PRUNED_EXIT:
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
        status, state, value = pruned_status(frozen), TrialState.PRUNED, None
    elif code != 0:
        status, state, value = f'failed (exit {code})', TrialState.FAIL, None
    elif score is None:
        status, state, value = f'no {args.metric}', TrialState.FAIL, None
    else:
        status, state, value = 'done', TrialState.COMPLETE, score
    trial.set_user_attr(STATUS_ATTR, status)  # before tell: a finished trial is read-only
    study.tell(trial, value, state=state)
    return status


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtl.search.optuna_search import (
        create_study,
        default_storage,
        fail_stale_trials,
        finished_trials,
        leaderboard_trials,
        parse_search_space,
        write_plots,
    )

    space = parse_search_space(args.space)
    base_cfg = read_config(args.config, dict(args.cfg_options))  # fails early on bad options
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', name + '_search')
    os.makedirs(work_dir, exist_ok=True)
    args.storage = args.storage or default_storage(work_dir)
    study = create_study(
        args.study_name or name,
        args.storage,
        args.rule,
        args.sampler,
        args.pruner,
        args.seed,
        args.n_startup_trials,
        args.n_warmup_steps,
    )
    stale = fail_stale_trials(study)
    done = len(finished_trials(study))
    print(
        f'study {study.study_name!r} in {args.storage}: {done} trials done'
        + (f' ({len(stale)} left running by a stopped search marked failed)' if stale else '')
        + f', {max(args.trials - done, 0)} to run',
        flush=True,
    )
    for _ in range(max(args.trials - done, 0)):
        trial = study.ask(space)
        params = trial.params
        trial_dir = osp.join(work_dir, f'trial_{trial.number:03d}')
        status = run_trial(args, study, trial, params, trial_dir)
        shown = ', '.join(
            f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}' for k, v in params.items()
        )
        score = best_value(trial_dir, args.metric, args.rule)
        print(f'trial {trial.number}: {shown} -> {args.metric} {score} ({status})', flush=True)

    trials = leaderboard_trials(study)
    print(write_leaderboard(trials, work_dir, args.metric, args.rule))
    for plot, result in write_plots(study, work_dir).items():
        print(f'optuna {plot} plot: {result}')
    best = ranked(trials, lambda t: t.score, args.rule)[0] if trials else None
    if best is None or best.score is None:
        print(f'no trial reported {args.metric}; see {work_dir}/trial_*/trial_output.log')
        return 1
    best_path = write_child_config(
        osp.join(work_dir, 'best_config.py'),
        base_cfg.filename,
        best.params,  # dotted keys: merged as --cfg-options are
        dict(args.cfg_options),
        comments=(
            f'The best trial ({best.index}, {args.metric} {best.score:.4f}) of the search in '
            f'{work_dir}:',
            "your config with the search's --cfg-options and the trial's values.",
        ),
    )
    print(f'leaderboard: {work_dir}/leaderboard.csv; best config (trial {best.index}): {best_path}')
    return 0


if __name__ == '__main__':
    exit_tool(main)
