"""Error analysis: tools/test.py --out (per-image predictions) and analyze_results.py."""

import csv
import glob
import json
import math
import os.path as osp

import cv2
import numpy as np
import pytest
from mmtl_testing import NO_WORKERS, import_tool, tool_status
from mmtl_testing.configs import write_tiny_config

from mmtl.analysis.error_analysis import (
    Prediction,
    confused_pairs,
    least_confident_correct,
    most_confident_mistakes,
    read_predictions,
)
from mmtl.evaluation.metrics.predictions import prediction_rows, write_prediction_rows


def test_rows_json_and_csv_read_back_the_same(tmp_path):
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    rows = prediction_rows(['a.png', 'b.png', 'c.png'], scores, np.array([0, 1, 1]), 'xyz', 5)
    assert [(r['pred_class'], r['correct']) for r in rows] == [
        ('x', True),
        ('z', False),
        ('x', False),
    ]
    assert [t['class'] for t in rows[1]['topk']] == ['z', 'y', 'x']  # top-k capped at 3
    for ext in ('csv', 'json'):
        path = str(tmp_path / f'preds.{ext}')
        write_prediction_rows(rows, path)
        back = read_predictions(path)
        assert [(p.image, p.gt_class, p.pred_class, p.pred_score) for p in back] == [
            ('a.png', 'x', 'x', 0.7),
            ('b.png', 'y', 'z', 0.6),
            ('c.png', 'y', 'x', 0.5),
        ]
    with open(str(tmp_path / 'preds.csv')) as f:
        header = next(csv.reader(f))
    assert header[-2:] == ['top3_class', 'top3_score']


def test_selection_and_confused_pairs():
    preds = [
        Prediction('1', 'cat', 'dog', 0.9),
        Prediction('2', 'cat', 'dog', 0.6),
        Prediction('3', 'cat', 'cat', 0.55),
        Prediction('4', 'dog', 'cat', 0.8),
        Prediction('5', 'dog', 'dog', 0.99),
    ]
    assert [p.image for p in most_confident_mistakes(preds, 2)] == ['1', '4']
    assert [p.image for p in least_confident_correct(preds, 5)] == ['3', '5']
    pairs = confused_pairs(preds)
    assert [(c.true_class, c.pred_class, c.count) for c in pairs] == [
        ('cat', 'dog', 2),
        ('dog', 'cat', 1),
    ]
    assert pairs[0].share == pytest.approx(2 / 3)


def test_read_predictions_without_true_class_names_the_file(tmp_path):
    path = str(tmp_path / 'infer.json')
    with open(path, 'w') as f:
        json.dump([{'image': 'a.png', 'pred_class': 'x', 'pred_score': 0.5}], f)
    with pytest.raises(ValueError, match=r'infer\.json: row 1 has no gt_class'):
        read_predictions(path)


def test_test_py_refuses_a_bad_out_extension_before_any_work(tmp_path, capsys):
    test = import_tool('tools/test.py')
    missing_ckpt = str(tmp_path / 'nothing.pth')  # would fail later: the --out check is first
    argv = ['mobilenet-v2_digits.py', missing_ckpt, '--out', 'preds.txt']
    assert tool_status(test.main, argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: --out preds.txt: must end in .csv or .json (or .pkl for raw results)']


def test_add_prediction_writer_extends_every_evaluator_form():
    from mmengine.config import Config

    from mmtl.evaluation.metrics import add_prediction_writer

    single = Config(dict(test_evaluator=dict(type='Accuracy')))
    add_prediction_writer(single, 'p.json', topk=3)
    assert single.test_evaluator == [
        dict(type='Accuracy'),
        dict(type='PredictionWriter', out_file='p.json', topk=3),
    ]
    listed = Config(dict(test_evaluator=[dict(type='Accuracy')]))
    add_prediction_writer(listed, 'r.pkl')
    assert listed.test_evaluator[1] == dict(type='DumpResults', out_file_path='r.pkl')


@pytest.mark.slow
def test_out_rows_match_the_confusion_matrix_and_galleries_are_drawn(
    tmp_path, digits_root, one_thread, capsys
):
    work_dir = str(tmp_path / 'run')
    config = write_tiny_config(str(tmp_path))
    options = [
        f'data_root={digits_root}',
        'train_cfg.max_epochs=1',  # one epoch: some mistakes left to analyse
        'default_hooks.early_stopping=None',
        'log_level=WARNING',
        'experiment_name=error_analysis',
    ] + NO_WORKERS
    train = import_tool('tools/train.py')
    assert train.main([config, '--work-dir', work_dir, '--cfg-options', *options]) == 0
    checkpoint = glob.glob(osp.join(work_dir, 'epoch_1.pth'))[0]
    preds_file = osp.join(work_dir, 'preds.csv')
    test = import_tool('tools/test.py')
    argv = [config, checkpoint, '--work-dir', work_dir, '--out', preds_file, '--cfg-options']
    assert test.main(argv + options) == 0
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    with open(preds_file, newline='') as f:
        rows = list(csv.DictReader(f))

    test_images = sorted(glob.glob(osp.join(digits_root, 'test', '*', '*.png')))
    assert len(rows) == len(test_images)
    assert sorted(r['image'] for r in rows) == test_images
    classes = metrics['confusion_matrix/classes']
    counts = np.zeros((len(classes), len(classes)), int)
    for row in rows:
        assert row['gt_class'] == osp.basename(osp.dirname(row['image']))
        assert row['pred_class'] == row['top1_class'] and row['pred_score'] == row['top1_score']
        assert float(row['top1_score']) >= float(row['top2_score']) >= float(row['top3_score'])
        counts[classes.index(row['gt_class']), classes.index(row['pred_class'])] += 1
    assert counts.tolist() == metrics['confusion_matrix/counts']

    mistakes = int(counts.sum() - np.trace(counts))
    assert 0 < mistakes < len(rows), 'one epoch should leave some (not only) mistakes'
    capsys.readouterr()
    analyze = import_tool('tools/analysis_tools/analyze_results.py')
    out_dir = str(tmp_path / 'analysis')
    assert analyze.main([preds_file, '--out-dir', out_dir, '--num', '6']) == 0
    out = capsys.readouterr().out
    shown = min(6, mistakes)
    assert f'most confident mistakes: {shown} images' in out
    gallery = cv2.imread(osp.join(out_dir, 'confident_mistakes.png'))
    assert gallery.shape[0] == round(100 * (2.8 * math.ceil(shown / 4) + 0.4))
    off_diagonal = counts - np.diag(np.diag(counts))
    worst = np.unravel_index(off_diagonal.argmax(), counts.shape)
    table = open(osp.join(out_dir, 'confused_pairs.md')).read().splitlines()
    assert table[2].startswith(
        f'| {classes[worst[0]]} | {classes[worst[1]]} | {off_diagonal.max()} |'
    )
    assert len(table) == 2 + int((off_diagonal > 0).sum())
