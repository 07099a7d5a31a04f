"""Hyper-parameter search: search spaces, short trials, leaderboards."""

from .random_search import (
    DISTRIBUTIONS,
    Trial,
    parse_search_space,
    write_leaderboard,
)

__all__ = [
    'DISTRIBUTIONS',
    'Trial',
    'parse_search_space',
    'write_leaderboard',
]
