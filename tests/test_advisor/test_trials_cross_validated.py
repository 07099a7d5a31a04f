"""Advisor trials on small data: each trial is a k-fold cross-validation, scored out of fold."""

import json
import os.path as osp
import subprocess

import pytest
from mmtl_testing import NO_WORKERS, import_tool

from mmtl.advisor import trials
from mmtl.advisor.trials import cross_validation_folds, pooled_top1, run_cross_validation


@pytest.mark.parametrize(
    'val_images, train_counts, val_is_train, folds',
    [
        (3 * 20, [30, 30, 30], False, 0),  # 20 val images per class: val ranks the trials
        (3 * 19, [30, 30, 30], False, 5),  # fewer: k-fold, at most 5 folds
        (300, [30, 30, 30], True, 5),  # val is a copy of train, however large
        (10, [30, 4, 30], False, 4),  # no more folds than the smallest class has images
        (10, [30, 2, 30], False, 0),  # a class of 2 images cannot be cut in 3 folds
    ],
)
def test_small_val_switches_trials_to_cross_validation(
    val_images, train_counts, val_is_train, folds
):
    assert cross_validation_folds(val_images, train_counts, val_is_train) == folds


def test_a_cross_validation_trial_runs_the_tool_and_reads_its_pooled_top1(tmp_path, monkeypatch):
    commands = []

    def call(command, stdout, stderr):
        commands.append(command)
        rows = [dict(rank=1, config='c', runs=3, mean_top1=70.0, std_top1=5.0, low=60.0)]
        rows[0].update(high=80.0, pooled_top1=71.5, pooled_low=61.0, pooled_high=80.0)
        rows[0].update(vs_best='')
        import_tool('tools/cross_validate.py').write_leaderboard(command[6], rows)
        return 0

    monkeypatch.setattr(subprocess, 'call', call)
    trial = str(tmp_path / 'trial')
    assert pooled_top1(trial) is None  # nothing written yet: a failed trial
    assert run_cross_validation('cfg.py', trial, folds=4, splits=('train',)) == 0
    assert commands[0][1:] == [
        trials.CROSS_VALIDATE_SCRIPT,
        'cfg.py',
        '--folds',
        '4',
        '--work-dir',
        trial,
        '--issues',
        '0',
        '--splits',
        'train',
    ]
    assert pooled_top1(trial) == 71.5


@pytest.mark.slow
def test_advisor_trials_on_a_small_val_split_cross_validate(digits_root, tmp_path, capsys):
    import torch
    from mmtl_testing.configs import write_tiny_config

    from mmtl.advisor.advisor import build_model
    from mmtl.config.load import load_config

    config = write_tiny_config(str(tmp_path))
    weights = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': build_model(load_config(config), False).state_dict()}, weights)
    work_dir = str(tmp_path / 'advice')
    options = [f'data_root={digits_root}', f'load_from={weights}', 'log_level=WARNING']
    options += NO_WORKERS
    tool = import_tool('tools/advise.py')
    argv = [config, '--work-dir', work_dir, '--no-progress', '--max-per-class', '10']
    argv += ['--trials', '1', '--budget', '1', '--folds', '3', '--cfg-options', *options]
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert 'each trial is a 3-fold cross-validation of train + val (3 trainings)' in out
    with open(osp.join(work_dir, 'leaderboard.json')) as f:
        board = json.load(f)
    assert 0 <= board[0]['top1'] <= 100
    assert board[0]['top1'] == pooled_top1(board[0]['work_dir'])
    assert '| out-of-fold top-1 |' in out
