"""Fixtures of the engine tests."""

import glob
import os
import os.path as osp
import shutil

import pytest
from mmtl_testing.images import TINY_DIGITS_PER_CLASS


@pytest.fixture(scope='module')
def tiny_digits(tmp_path_factory, digits_root):
    """4 real digit images per class (3 classes) in train and val: 3 iterations per epoch."""
    root = tmp_path_factory.mktemp('tiny_digits')
    shutil.copy(osp.join(digits_root, 'classes.txt'), root / 'classes.txt')
    for split in ('train', 'val'):
        for digit in ('0', '1', '2'):
            os.makedirs(root / split / digit)
            files = sorted(glob.glob(osp.join(digits_root, split, digit, '*.png')))
            for path in files[:TINY_DIGITS_PER_CLASS]:
                shutil.copy(path, root / split / digit)
    return str(root)
