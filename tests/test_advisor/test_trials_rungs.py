"""Successive halving with a chosen number of rungs: one rung trains everyone fully."""

import os.path as osp

import pytest

from mmtl.advisor.trials import Candidate, leaderboard, successive_halving


def halving(tmp_path, rungs):
    # 'slow' learns late: behind 'fast' after a short run, ahead after the whole budget.
    curve = {'fast': lambda e: 60 + e, 'slow': lambda e: 10 * e}
    ran = []

    def write_config(cand, epochs, path):
        return f'{cand.name}:{epochs}'

    def run(config, trial_dir):
        ran.append(config)
        return 0

    def score(trial_dir):
        name, epochs = ran[-1].split(':')
        return float(curve[name](int(epochs)))

    cands = [Candidate(n, n, 0.1, {}) for n in curve]
    results = successive_halving(
        cands, 8, str(tmp_path), write_config, run=run, score=score, log=lambda s: None, rungs=rungs
    )
    return ran, leaderboard(results)


def test_one_rung_trains_every_candidate_for_the_whole_budget(tmp_path):
    ran, board = halving(tmp_path, rungs=1)
    assert ran == ['fast:8', 'slow:8']
    assert [r.name for r in board] == ['slow', 'fast']  # 80 vs 68 after 8 epochs


def test_default_rungs_judge_on_a_short_run_first(tmp_path):
    ran, board = halving(tmp_path, rungs=None)
    assert ran == ['fast:4', 'slow:4', 'fast:8']  # slow: 40 after 4 epochs, dropped
    assert board[0].name == 'fast'


def test_rungs_below_one_are_refused(tmp_path):
    with pytest.raises(ValueError, match='rungs=0'):
        halving(tmp_path, rungs=0)
    assert not osp.exists(osp.join(str(tmp_path), 'rung0_fast'))
