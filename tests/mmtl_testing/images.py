"""Small real image folders written for tests."""

import os
import os.path as osp

import cv2
import numpy as np


def write_color_folder(root: str, classes: dict, per_class: int, size: int = 48) -> None:
    """Write ``root/<split>/<class>/*.jpg`` photos whose colour identifies the class.

    Args:
        root (str): Dataset root.
        classes (dict): Class name -> BGR colour.
        per_class (int): Images per class in each of train/val/test.
        size (int): Image side. Defaults to 48.
    """
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        for name, color in classes.items():
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                noise = rng.integers(-30, 30, size=(size, size, 3))
                img = np.clip(np.array(color)[None, None] + noise, 0, 255).astype(np.uint8)
                cv2.imwrite(osp.join(folder, f'{i:03d}.jpg'), img)


#: Images per class of the ``tiny_digits`` fixture (tests/test_engine/conftest.py).
TINY_DIGITS_PER_CLASS = 4
