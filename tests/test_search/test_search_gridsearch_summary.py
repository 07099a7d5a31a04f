"""A leaderboard for a finished ``mim gridsearch``, from the work dirs it leaves."""

import csv
import itertools
import json
import os
import os.path as osp

from mmengine.config import Config
from mmtl_testing import REPO_ROOT, tool_status

from mmtl.search.gridsearch import gridsearch_trials, searched_values


def _fake_gridsearch(base_dir, scores):
    """Folders as ``mim gridsearch`` writes them: DIR_search_<k>_<v>... with the config."""
    base = osp.join(base_dir, 'grid')
    grid = {'optim_wrapper.optimizer.lr': [0.001, 0.01], 'train_cfg.max_epochs': [5]}
    for combination, score in zip(itertools.product(*grid.values()), scores):
        cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), train_cfg=dict()))
        suffix = []
        for key, value in zip(grid, combination):
            suffix += [key, str(value)]
            cfg.merge_from_dict({key: value})
        name = '_search_' + '_'.join(suffix)
        run = base + name
        os.makedirs(osp.join(run, '20260101_120000', 'vis_data'))
        with open(osp.join(run, 'my_config' + name + '.py'), 'w') as f:
            f.write(cfg.pretty_text)
        with open(osp.join(run, '20260101_120000', 'vis_data', 'scalars.json'), 'w') as f:
            f.write(json.dumps({'lr': combination[0], 'loss': 1.0, 'iter': 1, 'epoch': 1}) + '\n')
            if score is not None:
                f.write(json.dumps({'accuracy/top1': score, 'step': 1}) + '\n')
    return base


def test_summary_ranks_runs_with_their_values(tmp_path, capsys):
    from importlib.util import module_from_spec, spec_from_file_location

    base = _fake_gridsearch(str(tmp_path), [60.0, 80.0])
    path = osp.join(REPO_ROOT, 'tools/gridsearch_summary.py')
    spec = spec_from_file_location('mmtl_tool_gridsearch_summary', path)
    tool = module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([base]) == 0
    out = capsys.readouterr().out
    with open(osp.join(base, 'leaderboard.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [float(r['optim_wrapper.optimizer.lr']) for r in rows] == [0.01, 0.001]
    assert [float(r['accuracy/top1']) for r in rows] == [80.0, 60.0]
    assert rows[0]['train_cfg.max_epochs'] == '5'
    assert rows[0]['lr_used'] == '0.01'
    assert out.index('80.0000') < out.index('60.0000')


def test_run_without_metric_is_listed_last(tmp_path):
    base = _fake_gridsearch(str(tmp_path), [None, 70.0])
    trials = gridsearch_trials(base, 'accuracy/top1')
    assert {t.status for t in trials} == {'done', 'no accuracy/top1'}


def test_no_runs_is_one_clear_error(tmp_path):
    from importlib.util import module_from_spec, spec_from_file_location

    path = osp.join(REPO_ROOT, 'tools/gridsearch_summary.py')
    spec = spec_from_file_location('mmtl_tool_gridsearch_summary2', path)
    tool = module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool_status(tool.main, [str(tmp_path / 'nothing')]) != 0


def test_underscored_keys_split_by_the_config():
    cfg = {'train_cfg': {'max_epochs': 5}, 'model': {'head': {'loss_weight': 0.5}}}
    assert searched_values('train_cfg.max_epochs_5_model.head.loss_weight_0.5', cfg) == {
        'train_cfg.max_epochs': 5,
        'model.head.loss_weight': 0.5,
    }
    assert searched_values('unknown_1', cfg) == {'search': 'unknown_1'}
