"""analyze_logs stitches every segment of a resumed run in a work dir."""

import json
import os
import os.path as osp

from mmtl.analysis.logs import best_metric, load_scalar_log


def _segment(work_dir, stamp, iters, val_steps, resumed=False):
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder)
    with open(osp.join(work_dir, stamp, f'{stamp}.log'), 'w') as f:  # mmengine's text log
        f.write(f'{stamp} - mmengine - INFO - Checkpoints will be saved to {work_dir}.\n')
        if resumed:
            f.write(f'{stamp} - mmengine - INFO - resumed epoch: 2, iter: {iters[0] - 1}\n')
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
    _segment(work_dir, '20260101_110000', range(5, 11), [3, 4, 5], resumed=True)
    os.makedirs(osp.join(work_dir, '20260101_120000'))  # a folder without a log
    log = load_scalar_log(work_dir)
    assert [r['iter'] for r in log.train] == list(range(1, 11))
    assert [r['stamp'] for r in log.train if r['iter'] >= 5] == ['20260101_110000'] * 6
    assert [r['step'] for r in log.val] == [1, 2, 3, 4, 5]
    assert log.val[2]['stamp'] == '20260101_110000'
    assert len(log.segments) == 2 and log.earlier_runs == []
    assert best_metric(log)['value'] == 50.0


def test_a_run_that_does_not_resume_starts_its_own_series(tmp_path):
    work_dir = str(tmp_path)
    # Two separate runs in one work dir, the second logging every 50 iterations: its first
    # record (iter 50) comes after the first run's last one, yet it continues nothing.
    _segment(work_dir, '20260101_100000', range(1, 31), [1, 2, 3])
    _segment(work_dir, '20260101_110000', [50, 100], [1, 2])
    log = load_scalar_log(work_dir)
    assert [r['iter'] for r in log.train] == [50, 100]
    assert [r['stamp'] for r in log.val] == ['20260101_110000'] * 2
    assert log.earlier_runs == [osp.join(work_dir, '20260101_100000')]
    # a third segment that resumed the second run joins it
    _segment(work_dir, '20260101_120000', [150, 200], [3, 4], resumed=True)
    log = load_scalar_log(work_dir)
    assert [r['iter'] for r in log.train] == [50, 100, 150, 200]
    assert [r['step'] for r in log.val] == [1, 2, 3, 4]
    assert len(log.segments) == 2 and log.resumed is False


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


def test_work_dir_with_glob_characters_in_its_name(tmp_path):
    # '[' and '*' are ordinary characters in a folder name, not a pattern to expand.
    work_dir = str(tmp_path / 'run[1]*')
    os.makedirs(work_dir)
    _segment(work_dir, '20260101_100000', range(1, 5), [1, 2])
    assert [r['iter'] for r in load_scalar_log(work_dir).train] == [1, 2, 3, 4]
