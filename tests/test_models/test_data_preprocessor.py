"""TransferDataPreprocessor: stock ClsDataPreprocessor's output, one pass per uint8 image."""

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.models import ClsDataPreprocessor
from mmpretrain.structures import DataSample
from mmtl_testing import REPO_ROOT

from mmtl.config.load import load_config
from mmtl.models import TransferDataPreprocessor
from mmtl.registry import MODELS

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def images(count=4, shape=(3, 20, 24), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8) for _ in range(count)
    ]


def batch(inputs, labels=(0, 1, 2, 1)):
    samples = [DataSample().set_gt_label(label) for label in labels[: len(inputs)]]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(mean=MEAN, std=STD, to_rgb=True),
        dict(mean=MEAN, std=STD, to_rgb=False),
        dict(to_rgb=True),  # no normalisation: float copy, flipped
    ],
)
def test_same_batch_as_the_stock_preprocessor(kwargs):
    stock, fast = ClsDataPreprocessor(**kwargs), TransferDataPreprocessor(**kwargs)
    data = images()
    want, got = stock(batch(data), True), fast(batch(data), True)
    assert got['inputs'].dtype == torch.float32 and got['inputs'].shape == (4, 3, 20, 24)
    assert torch.equal(got['inputs'], want['inputs'])  # bit-identical: same float32 ops
    assert [s.gt_label.tolist() for s in got['data_samples']] == [[0], [1], [2], [1]]
    assert fast.to_rgb == kwargs['to_rgb'] and fast._enable_normalize == ('mean' in kwargs)


def test_views_grey_images_and_other_inputs_take_the_stock_path_or_agree():
    kwargs = dict(mean=MEAN, std=STD, to_rgb=True)
    stock, fast = ClsDataPreprocessor(**kwargs), TransferDataPreprocessor(**kwargs)
    hwc = [x.permute(1, 2, 0).contiguous().permute(2, 0, 1) for x in images()]  # CHW views
    assert torch.equal(fast(batch(hwc))['inputs'], stock(batch(hwc))['inputs'])
    mixed = images(2, (3, 20, 24)) + images(2, (3, 16, 24), seed=1)  # sizes differ: padded
    assert torch.equal(fast(batch(mixed))['inputs'], stock(batch(mixed))['inputs'])
    grey_kwargs = dict(mean=[128.0], std=[64.0], to_rgb=True)  # 1 channel: never flipped
    grey = images(3, (1, 20, 24))
    want = ClsDataPreprocessor(**grey_kwargs)(batch(grey))['inputs']
    assert torch.equal(TransferDataPreprocessor(**grey_kwargs)(batch(grey))['inputs'], want)
    floats = [x.float() for x in images()]
    assert torch.equal(fast(batch(floats))['inputs'], stock(batch(floats))['inputs'])


def test_batch_augments_still_apply():
    kwargs = dict(
        mean=MEAN,
        std=STD,
        to_rgb=True,
        num_classes=3,
        batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)]),
    )
    np.random.seed(0)
    torch.manual_seed(0)
    want = ClsDataPreprocessor(**kwargs)(batch(images()), True)
    np.random.seed(0)
    torch.manual_seed(0)
    got = TransferDataPreprocessor(**kwargs)(batch(images()), True)
    assert torch.equal(got['inputs'], want['inputs'])
    scores = torch.stack([s.gt_score for s in got['data_samples']])
    assert scores.shape == (4, 3) and torch.allclose(scores.sum(1), torch.ones(4))


def test_the_base_dataset_config_builds_it():
    cfg = load_config(f'{REPO_ROOT}/configs/_base_/datasets/image_folder_224.py')
    with DefaultScope.overwrite_default_scope('mmtl'):
        preprocessor = MODELS.build(dict(cfg.data_preprocessor))
    assert type(preprocessor) is TransferDataPreprocessor
    assert preprocessor.mean.flatten().tolist() == pytest.approx(MEAN)
