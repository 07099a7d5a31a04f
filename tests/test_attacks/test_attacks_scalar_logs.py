"""Attacks on analyze_logs: a run killed while writing its last scalar record."""

import json
import os

import pytest

from mmtl.analysis.logs import ScalarLogError, load_scalar_log


def write_run(work_dir, stamp: str, iters, tail: str = '') -> str:
    folder = os.path.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder)
    path = os.path.join(folder, 'scalars.json')
    with open(path, 'w') as f:
        for i in iters:
            f.write(json.dumps({'loss': 1.0 / i, 'lr': 0.1, 'iter': i, 'epoch': 1}) + '\n')
        f.write(tail)
    return path


def test_a_log_cut_off_mid_record_gives_the_records_written(tmp_path):
    # A run killed (or out of disk) while mmengine wrote a line: the file ends without '\n'.
    path = write_run(str(tmp_path), '20261207_100000', [1, 2, 3], tail='{"loss": 0.2, "lr"')
    log = load_scalar_log(path)
    assert [r['iter'] for r in log.train] == [1, 2, 3]


def test_a_killed_earlier_run_does_not_block_the_newest_one(tmp_path):
    work_dir = str(tmp_path)
    write_run(work_dir, '20261207_100000', [1, 2], tail='{"loss": 0.')
    newest = write_run(work_dir, '20261207_110000', [1, 2, 3, 4])
    log = load_scalar_log(work_dir)
    assert log.path == newest and [r['iter'] for r in log.train] == [1, 2, 3, 4]
    assert log.earlier_runs == [os.path.join(work_dir, '20261207_100000')]


def test_a_bad_line_in_the_middle_is_still_refused(tmp_path):
    path = write_run(str(tmp_path), '20261207_100000', [1], tail='{"loss": 0.\n{"iter": 3}\n')
    with pytest.raises(ScalarLogError, match=r'scalars\.json:2: not a JSON record'):
        load_scalar_log(path)
