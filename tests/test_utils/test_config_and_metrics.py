"""Tests of config loading (data_root, workers, the shipped configs) and of Accuracy."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmtl  # noqa: F401  (sets up the registries)
from mmtl.config import apply_data_root, load_config
from mmtl.config.resolve import resolve_dataloader_defaults
from mmtl.evaluation.metrics import Accuracy
from mmtl.registry import DATASETS, METRICS

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
BASE_DATASET = CONFIG_DIR / '_base_' / 'datasets' / 'image_folder_224.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def write_config(tmp_path, body, name='my_config.py'):
    """A config inheriting the base image-folder dataset config (absolute ``_base_``)."""
    path = tmp_path / name
    path.write_text(f'_base_ = [{str(BASE_DATASET)!r}]\n\n{body}')
    return str(path)


# --------------------------------------------------------------------------------------------
# load_config / apply_data_root / resolve_dataloader_defaults
# --------------------------------------------------------------------------------------------


def test_data_root_reaches_all_three_datasets(tmp_path):
    cfg = load_config(write_config(tmp_path, "data_root = '/datasets/flowers'\n"))
    for key in LOADERS:
        assert cfg[key].dataset.data_root == '/datasets/flowers', key
    # The splits themselves come from the base config.
    assert [cfg[key].dataset.data_prefix for key in LOADERS] == ['train', 'val', 'test']


def test_dataset_with_its_own_data_root_keeps_it(tmp_path):
    body = (
        "data_root = '/datasets/flowers'\n"
        "val_dataloader = dict(dataset=dict(data_root='/datasets/other_val'))\n"
    )
    cfg = load_config(write_config(tmp_path, body))
    assert cfg.val_dataloader.dataset.data_root == '/datasets/other_val'
    assert cfg.train_dataloader.dataset.data_root == '/datasets/flowers'
    assert cfg.test_dataloader.dataset.data_root == '/datasets/flowers'


def test_cfg_options_data_root_overrides_the_file(tmp_path):
    path = write_config(tmp_path, "data_root = '/datasets/flowers'\n")
    cfg = load_config(path, cfg_options={'data_root': 'x'})
    assert cfg.data_root == 'x'
    for key in LOADERS:
        assert cfg[key].dataset.data_root == 'x', key


def test_data_root_goes_into_wrapped_dataset(tmp_path):
    body = (
        "data_root = '/datasets/flowers'\n"
        'train_dataloader = dict(\n'
        '    dataset=dict(\n'
        "        _delete_=True, type='RepeatDataset', times=3,\n"
        "        dataset=dict(type='FolderDataset', data_prefix='train'),\n"
        '    )\n'
        ')\n'
    )
    cfg = load_config(write_config(tmp_path, body))
    wrapper = cfg.train_dataloader.dataset
    assert wrapper.type == 'RepeatDataset'
    assert 'data_root' not in wrapper
    assert wrapper.dataset.data_root == '/datasets/flowers'


def test_data_root_goes_into_concatenated_datasets(tmp_path):
    root = tmp_path / 'flowers'
    for split in ('train', 'extra'):
        for name in ('rose', 'tulip'):
            path = root / split / name / '1.png'
            path.parent.mkdir(parents=True)
            assert cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    body = (
        f'data_root = {str(root)!r}\n'
        'train_dataloader = dict(\n'
        '    dataset=dict(\n'
        "        _delete_=True, type='ConcatDataset',\n"
        '        datasets=[\n'
        "            dict(type='FolderDataset', data_prefix='train'),\n"
        "            dict(type='FolderDataset', data_prefix='extra'),\n"
        '        ],\n'
        '    )\n'
        ')\n'
    )
    cfg = load_config(write_config(tmp_path, body))
    wrapper = cfg.train_dataloader.dataset
    assert 'data_root' not in wrapper
    assert [d.get('data_root') for d in wrapper.datasets] == [str(root), str(root)]
    with DefaultScope.overwrite_default_scope('mmtl'):  # as in a run: default_scope='mmtl'
        assert len(DATASETS.build(wrapper)) == 4


def test_apply_data_root_without_data_root_changes_nothing():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='FolderDataset'))))
    apply_data_root(cfg)
    assert 'data_root' not in cfg.train_dataloader.dataset


def test_num_workers_zero_turns_off_persistent_workers(tmp_path):
    path = write_config(tmp_path, "data_root = '/datasets/flowers'\n")
    cfg = load_config(path, cfg_options={'train_dataloader.num_workers': 0})
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.persistent_workers is False
    # Loaders that keep their workers keep persistent_workers as the base config sets it.
    assert cfg.val_dataloader.num_workers > 0
    assert cfg.val_dataloader.persistent_workers is True
    assert cfg.test_dataloader.persistent_workers is True


def test_num_workers_zero_in_file_for_all_loaders(tmp_path):
    body = "data_root = 'd'\n" + ''.join(
        f'{key} = dict(num_workers=0, persistent_workers=True)\n' for key in LOADERS
    )
    cfg = load_config(write_config(tmp_path, body))
    for key in LOADERS:
        assert cfg[key].persistent_workers is False, key


def test_resolve_dataloader_defaults_missing_num_workers_means_zero():
    cfg = Config(dict(val_dataloader=dict(persistent_workers=True)))
    resolve_dataloader_defaults(cfg)
    assert cfg.val_dataloader.persistent_workers is False


def test_missing_config_file_raises_naming_it(tmp_path):
    missing = str(tmp_path / 'no_such_config.py')
    with pytest.raises(FileNotFoundError) as info:
        load_config(missing)
    assert missing in str(info.value)


# --------------------------------------------------------------------------------------------
# The shipped configs
# --------------------------------------------------------------------------------------------

SHIPPED = [
    ('mobilenet-v2_fruit.py', 30, 'data/fruit30_split'),
    ('resnet50_fruit.py', 30, 'data/fruit30_split'),
    ('mobilenet-v2_digits.py', 10, 'data/digits'),
]


@pytest.mark.parametrize('name, num_classes, data_root', SHIPPED)
def test_shipped_config_classes_and_data_root(name, num_classes, data_root):
    cfg = load_config(str(CONFIG_DIR / name))
    assert cfg.default_scope == 'mmtl'
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_root == data_root
    for key in LOADERS:
        dataset = cfg[key].dataset
        assert dataset.type == 'FolderDataset'
        assert dataset.data_root == data_root, key
    assert cfg.val_dataloader.dataset.class_folder == 'train'
    assert cfg.test_dataloader.dataset.class_folder == 'train'
    assert [cfg[key].dataset.data_prefix for key in LOADERS] == ['train', 'val', 'test']


@pytest.mark.parametrize('name', [entry[0] for entry in SHIPPED])
def test_shipped_config_data_root_override(name):
    cfg = load_config(str(CONFIG_DIR / name), cfg_options={'data_root': '/mnt/elsewhere'})
    for key in LOADERS:
        assert cfg[key].dataset.data_root == '/mnt/elsewhere', key


@pytest.mark.parametrize('name', ['mobilenet-v2_fruit.py', 'resnet50_fruit.py'])
def test_fruit_config_pretrained_and_lr_scaling(name):
    cfg = load_config(str(CONFIG_DIR / name))
    assert isinstance(cfg.load_from, str)
    assert cfg.load_from.startswith('https://')
    assert cfg.load_from.endswith('.pth')
    assert cfg.auto_scale_lr.enable is True
    assert cfg.auto_scale_lr.base_batch_size == 256


def test_digits_config_classes_file_and_small_inputs():
    cfg = load_config(str(CONFIG_DIR / 'mobilenet-v2_digits.py'))
    for key in LOADERS:
        assert cfg[key].dataset.classes == 'classes.txt', key
    crop = cfg.train_dataloader.dataset.pipeline[0]
    assert crop.type == 'LoadAndRandomResizedCrop' and crop.scale == 32
    assert not any(t.type == 'RandomFlip' for t in cfg.train_dataloader.dataset.pipeline)


@pytest.mark.parametrize('name', [entry[0] for entry in SHIPPED])
def test_shipped_config_evaluator_builds_mmtl_accuracy(name):
    cfg = load_config(str(CONFIG_DIR / name))
    metric = METRICS.build(cfg.val_evaluator)
    assert type(metric) is Accuracy
    assert metric.topk == (1, 5)


# --------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------


def sample_with_rank(gt, rank, num_classes):
    """A data sample whose true class ``gt`` has the ``rank``-th highest score (0 = top)."""
    others = [c for c in range(num_classes) if c != gt]
    order = others[:rank] + [gt] + others[rank:]
    scores = torch.zeros(num_classes)
    for position, label in enumerate(order):
        scores[label] = float(num_classes - position)  # distinct and > 0
    return {'pred_score': scores / scores.sum(), 'gt_label': torch.tensor([gt])}


def sample_with_prediction(gt, pred, num_classes):
    scores = torch.full((num_classes,), 0.1)
    scores[pred] = 0.8
    return {'pred_score': scores, 'gt_label': torch.tensor([gt])}


def test_accuracy_three_classes_reports_only_top1():
    gts = [0, 1, 2, 0, 1, 2]
    preds = [0, 1, 2, 1, 1, 0]  # right at positions 0, 1, 2 and 4
    samples = [sample_with_prediction(g, p, 3) for g, p in zip(gts, preds)]

    metric = Accuracy(topk=(1, 5))
    metric.process(None, samples[:4])
    metric.process(None, samples[4:])
    metrics = metric.compute_metrics(metric.results)

    assert set(metrics) == {'top1'}
    assert metrics['top1'] == pytest.approx(4 / 6 * 100)


def test_accuracy_three_classes_evaluate_uses_prefix():
    gts = [2, 2, 1, 0]
    preds = [2, 0, 1, 1]  # 2 of 4 right
    metric = Accuracy(topk=(1, 5))
    metric.process(None, [sample_with_prediction(g, p, 3) for g, p in zip(gts, preds)])

    metrics = metric.evaluate(size=len(gts))

    assert set(metrics) == {'accuracy/top1'}
    assert metrics['accuracy/top1'] == pytest.approx(50.0)


def test_accuracy_ten_classes_reports_top1_and_top5():
    gts = [3, 7, 0, 9, 2, 5, 1, 8]
    ranks = [0, 0, 3, 4, 5, 9, 1, 7]
    samples = [sample_with_rank(g, r, 10) for g, r in zip(gts, ranks)]
    expected_top1 = sum(r < 1 for r in ranks) / len(ranks) * 100  # 2 of 8
    expected_top5 = sum(r < 5 for r in ranks) / len(ranks) * 100  # 5 of 8

    metric = Accuracy(topk=(1, 5))
    metric.process(None, samples)
    metrics = metric.evaluate(size=len(samples))

    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert metrics['accuracy/top1'] == pytest.approx(expected_top1)
    assert metrics['accuracy/top5'] == pytest.approx(expected_top5)
    assert (expected_top1, expected_top5) == (25.0, 62.5)


def test_accuracy_keeps_k_equal_to_class_count():
    gts = [0, 1, 2, 3, 4]
    ranks = [4, 3, 0, 0, 2]
    metric = Accuracy(topk=(1, 5))
    metric.process(None, [sample_with_rank(g, r, 5) for g, r in zip(gts, ranks)])
    metrics = metric.compute_metrics(metric.results)
    assert set(metrics) == {'top1', 'top5'}
    assert metrics['top1'] == pytest.approx(40.0)
    assert metrics['top5'] == pytest.approx(100.0)


def test_accuracy_from_registry_handles_few_classes():
    metric = METRICS.build(dict(type='Accuracy', topk=(1, 5)))
    metric.process(None, [sample_with_prediction(1, 1, 2), sample_with_prediction(0, 1, 2)])
    metrics = metric.evaluate(size=2)
    assert metrics == {'accuracy/top1': pytest.approx(50.0)}
