"""Train one trial of an Optuna search: ``tools/train.py`` plus the pruning hook.

    python -m mmtl.search.trial_runner CONFIG --optuna-storage URL --optuna-study NAME
        --optuna-trial N [--optuna-metric accuracy/top1] [--optuna-pruner median]
        [--optuna-startup-trials 2] [--optuna-warmup-steps 0] [train.py arguments ...]

Exit codes: 0 trained, :data:`PRUNED_EXIT` pruned, 1 a user error (one line), other codes
a crash. The search process starts one of these per trial.
"""

import argparse
import sys
from typing import List, Optional

#: Exit code of a pruned trial.
PRUNED_EXIT = 3


def main(argv: Optional[List[str]] = None) -> int:
    # Each option is an argument of OptunaPruningHook (its dest).
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--optuna-storage', dest='storage', required=True)
    parser.add_argument('--optuna-study', dest='study_name', required=True)
    parser.add_argument('--optuna-trial', dest='trial_number', type=int, required=True)
    parser.add_argument('--optuna-metric', dest='metric', default='accuracy/top1')
    parser.add_argument('--optuna-pruner', dest='pruner', default='median')
    parser.add_argument('--optuna-startup-trials', dest='n_startup_trials', type=int, default=2)
    parser.add_argument('--optuna-warmup-steps', dest='n_warmup_steps', type=int, default=0)
    optuna_args, train_argv = parser.parse_known_args(argv)
    from mmtl.apis.fit import train_config
    from mmtl.apis.runner_setup import prepare_train_config
    from mmtl.search import pruning_hook  # noqa: F401  (registers OptunaPruningHook)
    from mmtl.search.optuna_search import require_optuna
    from mmtl.utils.cli import run_with_clear_errors
    from mmtl.utils.run_args import parse_tool_args, select_device, train_parser

    optuna = require_optuna()
    args = parse_tool_args(train_parser(), train_argv)

    def train() -> int:
        select_device(args.device)
        cfg = prepare_train_config(args)
        hook = dict(type='OptunaPruningHook', **vars(optuna_args))
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [hook]
        try:
            train_config(cfg)
        except optuna.TrialPruned as err:
            print(str(err), flush=True)
            return PRUNED_EXIT
        return 0

    return run_with_clear_errors(train)


if __name__ == '__main__':
    sys.exit(main())
