"""Hyper-parameter search: search spaces, short trials, leaderboards."""

from .random_search import (
    DISTRIBUTIONS,
    Trial,
    best_val_metric,
    parse_search_space,
    write_leaderboard,
)

__all__ = [
    'DISTRIBUTIONS',
    'Trial',
    'best_val_metric',
    'parse_search_space',
    'write_leaderboard',
]
