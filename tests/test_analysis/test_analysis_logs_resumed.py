"""analyze_logs stitches every segment of a resumed run in a work dir."""

import json
import os
import os.path as osp

from mmtl.analysis.logs import best_metric, load_scalar_log


def _segment(work_dir, stamp, iters, val_steps):
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        for it in iters:
            f.write(
                json.dumps(
                    {
                        'lr': 0.1,
                        'loss': 1.0 / it,
                        'iter': it,
                        'epoch': (it - 1) // 2 + 1,
                        'stamp': stamp,
                    }
                )
                + '\n'
            )
        for step in val_steps:
            f.write(json.dumps({'accuracy/top1': 10.0 * step, 'step': step, 'stamp': stamp}) + '\n')


def test_work_dir_stitches_resumed_segments_without_duplicates(tmp_path):
    work_dir = str(tmp_path)
    # first run reached iter 6 / epoch 3, crashed; resumed from the epoch-2 checkpoint
    _segment(work_dir, '20260101_100000', range(1, 7), [1, 2, 3])
    _segment(work_dir, '20260101_110000', range(5, 11), [3, 4, 5])
    os.makedirs(osp.join(work_dir, '20260101_120000'))  # a folder without a log
    log = load_scalar_log(work_dir)
    assert [r['iter'] for r in log.train] == list(range(1, 11))
    assert [r['stamp'] for r in log.train if r['iter'] >= 5] == ['20260101_110000'] * 6
    assert [r['step'] for r in log.val] == [1, 2, 3, 4, 5]
    assert log.val[2]['stamp'] == '20260101_110000'
    assert len(log.segments) == 2
    assert best_metric(log)['value'] == 50.0


def test_one_run_folder_stays_that_run(tmp_path):
    work_dir = str(tmp_path)
    _segment(work_dir, '20260101_100000', range(1, 7), [1, 2, 3])
    _segment(work_dir, '20260101_110000', range(5, 11), [3, 4, 5])
    log = load_scalar_log(osp.join(work_dir, '20260101_100000'))
    assert [r['iter'] for r in log.train] == list(range(1, 7))


def test_test_only_segment_does_not_hide_training(tmp_path):
    work_dir = str(tmp_path)
    _segment(work_dir, '20260101_100000', range(1, 5), [1, 2])
    _segment(work_dir, '20260101_110000', [], [])
    log = load_scalar_log(work_dir)
    assert [r['iter'] for r in log.train] == [1, 2, 3, 4]
