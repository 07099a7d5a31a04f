"""Random search: spec parsing, sampling, metric reading, leaderboard, and a real 2-trial run."""

import csv
import json
import os
import os.path as osp
import sys

import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from mmtl.analysis.logs import best_value
from mmtl.search.optuna_search import parse_search_space
from mmtl.search.random_search import Trial, write_leaderboard


def test_parse_space_reads_each_distribution():
    space = parse_search_space(
        [
            'optim_wrapper.optimizer.lr=loguniform(1e-4, 1e-1)',
            'model.head.dropout=uniform(0, 0.5)',
            'train_cfg.max_epochs=randint(2,4)',
            'optim_wrapper.optimizer.type=choice(SGD, AdamW)',
            'train_dataloader.batch_size=choice(16, 32)',
        ]
    )
    assert space['optim_wrapper.optimizer.lr'] == FloatDistribution(1e-4, 1e-1, log=True)
    assert space['model.head.dropout'] == FloatDistribution(0, 0.5)
    assert space['train_cfg.max_epochs'] == IntDistribution(2, 4)
    assert space['optim_wrapper.optimizer.type'] == CategoricalDistribution(['SGD', 'AdamW'])
    assert space['train_dataloader.batch_size'] == CategoricalDistribution([16, 32])


@pytest.mark.parametrize(
    'spec,message',
    [
        ('lr=loguniform(0, 1)', '0 < low < high'),
        ('lr=gauss(0, 1)', "unknown distribution 'gauss'"),
        ('lr 0.1', 'KEY=DIST'),
        ('lr=uniform(1)', 'lr=uniform'),
        # refused while the specs are read, before any trial is drawn or stored
        ('lr=uniform(0.1, 0.01)', 'low < high'),
        ('train_cfg.max_epochs=randint(5, 2)', 'low <= high'),
        ('optim_wrapper.optimizer.type=choice()', 'at least one value'),
        # a range of one value, which Optuna takes
        ('lr=uniform(0.1, 0.1)', r"'lr=uniform\(0.1, 0.1\)': .*low < high"),
        ('lr=loguniform(0.1, 0.1)', '0 < low < high'),
    ],
)
def test_bad_specs_name_the_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_search_space([spec])


def test_repeated_key_is_an_error():
    with pytest.raises(ValueError, match='given twice'):
        parse_search_space(['lr=uniform(0,1)', 'lr=uniform(1,2)'])


def write_scalars(work_dir, records):
    folder = osp.join(work_dir, '20261124_000000', 'vis_data')
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def test_best_value_reads_the_run_log(tmp_path):
    write_scalars(
        str(tmp_path),
        [
            {'loss': 1.0, 'step': 1},
            {'accuracy/top1': 60.0, 'step': 1},
            {'accuracy/top1': 75.5, 'step': 2},
            {'loss': 0.5},
        ],
    )
    assert best_value(str(tmp_path), 'accuracy/top1') == 75.5
    assert best_value(str(tmp_path), 'accuracy/top1', rule='less') == 60.0
    assert best_value(str(tmp_path), 'f1') is None


def test_leaderboard_sorts_best_first_and_puts_failures_last(tmp_path):
    trials = [
        Trial(0, {'lr': 0.1}, 'a', 50.0, 'done'),
        Trial(1, {'lr': 0.01}, 'b', None, 'failed (exit 1)'),
        Trial(2, {'lr': 0.001}, 'c', 80.0, 'done'),
    ]
    text = write_leaderboard(trials, str(tmp_path), 'accuracy/top1')
    with open(tmp_path / 'leaderboard.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['trial'] for r in rows] == ['2', '0', '1']
    assert rows[0]['lr'] == '0.001' and rows[2]['status'] == 'failed (exit 1)'
    assert json.load(open(tmp_path / 'leaderboard.json'))['trials'][0]['score'] == 80.0
    assert text.splitlines()[1].split()[:3] == ['1', '2', '80.0000']


@pytest.mark.slow
def test_random_search_tool_runs_trials_and_writes_best_config(tmp_path, digits_root):
    work_dir = str(tmp_path / 'search')
    result = run_command(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'random_search.py'), 'mobilenet-v2_digits.py']
        + ['--space', 'optim_wrapper.optimizer.lr=loguniform(1e-4,1e-2)', '--trials', '2']
        + ['--epochs', '1', '--work-dir', work_dir, '--cfg-options', f'data_root={digits_root}']
        + ['model.head.num_classes=3', 'train_dataloader.batch_size=16', *NO_WORKERS],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, describe(result)
    board = json.load(open(osp.join(work_dir, 'leaderboard.json')))['trials']
    assert len(board) == 2 and all(t['status'] == 'done' for t in board)
    assert board[0]['score'] >= board[1]['score']
    for t in board:
        assert t['score'] == best_value(t['work_dir'], 'accuracy/top1')
    best_config = open(osp.join(work_dir, 'best_config.py')).read()
    assert repr(board[0]['params']['optim_wrapper.optimizer.lr'])[:8] in best_config
    assert 'max_epochs' not in best_config  # the trial length is not baked into it


def test_best_config_is_the_delta_on_the_users_config(tmp_path, digits_root, monkeypatch):
    from mmengine.config import Config
    from mmtl_testing import import_tool

    tool = import_tool('tools/random_search.py')

    def fake_trial(args, study, trial, params, work_dir):  # no training: best_config.py only
        study.tell(trial, 50.0 + trial.number)
        return 'done'

    monkeypatch.setattr(tool, 'run_trial', fake_trial)
    user_config = tmp_path / 'my_digits.py'
    digits = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    user_config.write_text(f'_base_ = [{digits!r}]\ntrain_cfg = dict(max_epochs=7)\n')
    work_dir = str(tmp_path / 'search')
    argv = [str(user_config), '--trials', '2', '--epochs', '1', '--work-dir', work_dir]
    argv += ['--space', 'optim_wrapper.optimizer.weight_decay=choice(0.01,0.02)']
    argv += ['--sampler', 'random', '--cfg-options', f'data_root={digits_root}']
    assert tool.main(argv) == 0
    best_path = osp.join(work_dir, 'best_config.py')
    code = [line for line in open(best_path) if line.strip() and not line.startswith('#')]
    assert code[0] == f'_base_ = [{str(user_config)!r}]\n'
    assert sorted(line.split(' = ')[0] for line in code[1:]) == ['data_root', 'optim_wrapper']
    best = Config.fromfile(best_path)
    user = Config.fromfile(str(user_config))
    board = json.load(open(osp.join(work_dir, 'leaderboard.json')))['trials']
    decay = board[0]['params']['optim_wrapper.optimizer.weight_decay']
    assert best.optim_wrapper.optimizer.weight_decay == decay
    assert best.optim_wrapper.optimizer.lr == user.optim_wrapper.optimizer.lr  # kept
    assert best.train_cfg.max_epochs == 7 and best.data_root == digits_root
