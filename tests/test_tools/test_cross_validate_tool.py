"""tools/cross_validate.py end to end on a tiny digits folder: runs, resume, outputs, plan check.

Whether the label issues find planted mislabelled images is tested on out-of-fold
probabilities in tests/test_evaluation/test_cross_validation.py (a model trained here for one
epoch is too weak to judge labels).
"""

import csv
import glob
import os
import os.path as osp
import shutil
import sys

import cv2
import pytest
from mmtl_testing import NO_WORKERS, REPO_ROOT, describe, run_command

pytestmark = pytest.mark.slow

PER_CLASS = 6


@pytest.fixture(scope='module')
def small_folder(tmp_path_factory, digits_root):
    """6 training digits per class (3 classes), no val folder, as a user's small photo set."""
    root = tmp_path_factory.mktemp('cv_digits')
    shutil.copy(osp.join(digits_root, 'classes.txt'), root / 'classes.txt')
    for digit in ('0', '1', '2'):
        os.makedirs(root / 'train' / digit)
        for path in sorted(glob.glob(osp.join(digits_root, 'train', digit, '*.png')))[:PER_CLASS]:
            shutil.copy(path, root / 'train' / digit)
    return str(root)


def cross_validate(folder, work_dir, *extra):
    command = [sys.executable, osp.join(REPO_ROOT, 'tools', 'cross_validate.py')]
    command += [osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py'), '--folds', '3']
    command += ['--work-dir', work_dir, '--issues', '4', *extra, '--cfg-options']
    command += [f'data_root={folder}', 'model.head.num_classes=3', 'train_cfg.max_epochs=1']
    return run_command(command + NO_WORKERS, cwd=osp.dirname(work_dir))


def test_cross_validate_runs_resumes_and_writes_its_outputs(small_folder, tmp_path):
    work_dir = str(tmp_path / 'cv')
    result = cross_validate(small_folder, work_dir)
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith('[')]
    assert [line.split(']')[0] for line in progress] == ['[1/3', '[2/3', '[3/3']
    assert all('test top-1' in line and 'on 6 images' in line for line in progress)
    assert any('top-1' in line and 'over 3 runs' in line for line in lines)

    with open(osp.join(work_dir, 'label_issues.csv')) as f:
        rows = list(csv.DictReader(f))
    images = sorted(row['image'] for row in rows)
    assert len(rows) == 3 * PER_CLASS
    assert images == sorted(
        osp.relpath(path, small_folder)
        for path in glob.glob(osp.join(small_folder, 'train', '*', '*.png'))
    )
    assert cv2.imread(osp.join(work_dir, 'label_issues.png')) is not None
    assert 'mobilenet-v2_digits' in open(osp.join(work_dir, 'leaderboard.md')).read()

    again = cross_validate(small_folder, work_dir)  # resumed: nothing is trained again
    assert again.returncode == 0, describe(again)
    assert again.stdout.count('(done before)') == 3

    other = cross_validate(small_folder, work_dir, '--seed', '1')
    assert other.returncode == 1
    assert 'plan.json was made for other seed' in other.stderr
