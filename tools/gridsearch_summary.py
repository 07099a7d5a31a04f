"""Leaderboard of a finished ``mim gridsearch`` (mim itself ends without one).

    mim gridsearch mmtl CONFIG --work-dir DIR --search-args '--train_cfg.max_epochs 5 10'
    python tools/gridsearch_summary.py DIR [--metric accuracy/top1] [--rule greater]
    mim run mmtl gridsearch_summary DIR

Reads every ``DIR_search_<key>_<value>...`` run (its config and ``vis_data/scalars.json``),
prints the runs best first with the searched values, the best validation metric and the lr
each really used, and writes ``DIR/leaderboard.{csv,json}``.
"""

import argparse
import os

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the --work-dir given to mim gridsearch')
    parser.add_argument('--metric', default='accuracy/top1', help='validation metric to rank by')
    parser.add_argument('--rule', choices=['greater', 'less'], default='greater')
    return parser.parse_args(argv)


def summarise(args: argparse.Namespace) -> None:
    from mmtl.search.gridsearch import gridsearch_trials
    from mmtl.search.random_search import write_leaderboard

    trials = gridsearch_trials(args.work_dir, args.metric, args.rule)
    os.makedirs(args.work_dir, exist_ok=True)
    print(write_leaderboard(trials, args.work_dir, args.metric, args.rule))
    print(f'leaderboard written to {os.path.join(args.work_dir, "leaderboard.csv")} and .json')


def main(argv=None) -> int:
    args = parse_args(argv)
    summarise(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
