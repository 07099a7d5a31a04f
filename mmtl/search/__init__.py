"""Hyper-parameter search: sample config values, run short trials, rank them."""

from .random_search import (
    DISTRIBUTIONS,
    Trial,
    best_val_metric,
    parse_search_space,
    sample_trials,
    write_leaderboard,
)

__all__ = [
    'DISTRIBUTIONS',
    'Trial',
    'best_val_metric',
    'parse_search_space',
    'sample_trials',
    'write_leaderboard',
]
