"""Hyper-parameter search: search spaces, Optuna studies and trials, leaderboards."""
