"""Hyper-parameter search on Optuna: suggestions, a resumed SQLite study, a pruned trial."""

import json
import os.path as osp
import sys

import optuna
import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command, write_color_folder

from mmtl.search.optuna_search import (
    create_study,
    default_storage,
    parse_search_space,
    write_plots,
)

LR = 'optim_wrapper.optimizer.lr'
SEARCH_TOOL = osp.join(REPO_ROOT, 'tools', 'random_search.py')


def test_specs_become_optuna_distributions():
    space = parse_search_space(
        [f'{LR}=loguniform(1e-4,1e-1)', 'a=uniform(0,1)', 'b=randint(1,3)', 'c=choice(16,32)']
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask(space)
    values, dists = trial.params, trial.distributions
    assert dists[LR].log and (dists[LR].low, dists[LR].high) == (1e-4, 1e-1)
    assert not dists['a'].log and isinstance(dists['b'], optuna.distributions.IntDistribution)
    assert dists['c'].choices == (16, 32) and values['c'] in (16, 32)
    assert 1e-4 <= values[LR] <= 1e-1 and 1 <= values['b'] <= 3
    with pytest.raises(ValueError, match=r"'d=choice\(\[1, 2\], \[3\]\)': choice"):
        parse_search_space(['d=choice([1, 2], [3])'])


def test_study_direction_must_match_on_resume(tmp_path):
    storage = default_storage(str(tmp_path))
    create_study('s', storage, rule='greater')
    assert create_study('s', storage, rule='greater').direction.name == 'MAXIMIZE'
    with pytest.raises(ValueError, match='is to maximize, not minimize'):
        create_study('s', storage, rule='less')


def test_history_and_importance_plots_are_png(tmp_path):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float('x', 0, 1) + 0.1 * t.suggest_float('y', 0, 1), 4)
    written = write_plots(study, str(tmp_path))
    for name in ('history', 'importances'):
        with open(written[name], 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_plots_leave_matplotlib_style_as_it_was(tmp_path):
    # Optuna's matplotlib plots call plt.style.use('ggplot') for the whole process: every
    # figure drawn after a search (test plots, Grad-CAM) would change look.
    import matplotlib

    before = dict(matplotlib.rcParams)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float('x', 0, 1) + 0.1 * t.suggest_float('y', 0, 1), 4)
    write_plots(study, str(tmp_path))
    changed = {k for k, v in matplotlib.rcParams.items() if str(before.get(k)) != str(v)}
    assert not changed, sorted(changed)[:5]


def search(tmp_path, digits_root, *extra):
    work_dir = str(tmp_path / 'search')
    command = [sys.executable, SEARCH_TOOL, 'mobilenet-v2_digits.py', '--work-dir', work_dir]
    command += [*extra, '--cfg-options', f'data_root={digits_root}', 'model.head.num_classes=3']
    command += ['train_dataloader.batch_size=16', *NO_WORKERS]
    result = run_command(command, cwd=str(tmp_path))
    assert result.returncode == 0, describe(result)
    return work_dir, result.stdout


@pytest.fixture(scope='module')
def tiny_colours(tmp_path_factory) -> str:
    """Three colour classes, four 16-px images each per split: one iteration per epoch."""
    root = str(tmp_path_factory.mktemp('colours'))
    write_color_folder(root, {'0': (200, 0, 0), '1': (0, 200, 0), '2': (0, 0, 200)}, 4, size=16)
    with open(osp.join(root, 'classes.txt'), 'w') as f:  # the digits config names its classes
        f.write('0\n1\n2\n')
    return root


@pytest.mark.slow
def test_study_in_sqlite_resumes_with_the_trials_done(tmp_path, tiny_colours):
    space = ['--space', f'{LR}=loguniform(1e-4,1e-2)', '--epochs', '1', '--sampler', 'random']
    work_dir, _ = search(tmp_path, tiny_colours, *space, '--trials', '3', '--pruner', 'none')
    storage = f'sqlite:///{work_dir}/study.db'
    first = optuna.load_study(study_name='mobilenet-v2_digits', storage=storage).trials
    assert [t.state.name for t in first] == ['COMPLETE'] * 3

    _, out = search(tmp_path, tiny_colours, *space, '--trials', '5', '--storage', storage)
    assert '3 trials done, 2 to run' in out
    after = optuna.load_study(study_name='mobilenet-v2_digits', storage=storage).trials
    assert len(after) == 5 and [t.number for t in after] == list(range(5))
    for before, now in zip(first, after[:3]):  # the first three are kept as they were
        assert (now.params, now.value, now.state) == (before.params, before.value, before.state)
    board = json.load(open(osp.join(work_dir, 'leaderboard.json')))['trials']
    assert sorted(t['index'] for t in board) == list(range(5))
    complete = [t for t in board if t['score'] is not None]
    assert [t['score'] for t in complete] == sorted((t['score'] for t in complete), reverse=True)
    assert osp.getsize(osp.join(work_dir, 'optuna_history.png')) > 1000
    assert osp.isfile(osp.join(work_dir, 'best_config.py'))


@pytest.mark.slow
def test_a_trial_below_the_median_is_pruned_and_recorded(tmp_path, digits_root):
    work_dir = str(tmp_path / 'search')
    storage = default_storage(work_dir)
    study = create_study('prune', storage, n_startup_trials=1)
    lr = optuna.distributions.CategoricalDistribution([0.0])
    study.add_trial(  # a finished trial that was perfect at every epoch
        optuna.trial.create_trial(
            params={LR: 0.0},
            distributions={LR: lr},
            value=100.0,
            intermediate_values={1: 100.0, 2: 100.0},  # top-1 in %
        )
    )
    _, out = search(
        tmp_path,
        digits_root,
        *('--space', f'{LR}=choice(0.0)', '--epochs', '2', '--trials', '2'),
        *('--study-name', 'prune', '--n-startup-trials', '1'),
    )
    trial = optuna.load_study(study_name='prune', storage=storage).trials[1]
    assert trial.state.name == 'PRUNED' and list(trial.intermediate_values) == [1]
    board = {
        t['index']: t for t in json.load(open(osp.join(work_dir, 'leaderboard.json')))['trials']
    }
    assert board[1]['status'].startswith('pruned at epoch 1 (') and board[1]['score'] is None
    trial_dir = osp.join(work_dir, 'trial_001')
    assert 'pruned at epoch 1' in open(osp.join(trial_dir, 'trial_output.log')).read()
    assert not osp.exists(osp.join(trial_dir, 'epoch_2.pth'))  # stopped after epoch 1
