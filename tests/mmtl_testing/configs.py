"""Small configs written for tests."""

import os.path as osp

from .commands import REPO_ROOT


def write_tiny_config(folder: str) -> str:
    """The digits config with a ResNet-18 of 16 channels (1/4 width): fast on 16 px images."""
    path = osp.join(folder, 'tiny_resnet.py')
    digits = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{digits!r}]\n'
            'model = dict(\n'
            "    backbone=dict(_delete_=True, type='ResNet', depth=18, stem_channels=16,\n"
            '                  base_channels=16, out_indices=(3,)),\n'
            '    head=dict(in_channels=128, num_classes=3))\n'
        )
    return path
