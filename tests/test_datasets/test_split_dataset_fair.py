"""split_dataset spreads the rounding shortfall over the parts instead of always shorting test."""

import numpy as np

from mmtl.datasets.split import stratified_split


def test_rounding_shortfall_is_spread_between_val_and_test():
    # ten classes of ten samples: 7 / 1.5 / 1.5 each; val and test must end up level
    labels = np.repeat(np.arange(10), 10)
    train, val, test = stratified_split(labels, (0.7, 0.15, 0.15), seed=0)
    assert len(train) == 70
    assert abs(len(val) - len(test)) <= 1
    assert len(val) + len(test) == 30


def test_every_class_sums_and_keeps_one_per_part():
    labels = np.repeat(np.arange(7), [3, 5, 9, 10, 11, 4, 13])
    parts = stratified_split(labels, (0.7, 0.15, 0.15), seed=3)
    assert sorted(i for part in parts for i in part) == list(range(len(labels)))
    for label in range(7):
        sizes = [int(np.sum(labels[part] == label)) for part in parts]
        assert sum(sizes) == int(np.sum(labels == label))
        assert min(sizes) >= 1


def test_split_is_deterministic():
    labels = np.repeat(np.arange(5), 7)
    assert stratified_split(labels, (0.6, 0.2, 0.2), seed=1) == stratified_split(
        labels, (0.6, 0.2, 0.2), seed=1
    )


def test_the_embedded_digits_keep_the_split_readme_was_measured_on(tmp_path):
    """write_digits_folder rounds per class (first parts first): README's figures used it."""
    import json
    import os

    from mmtl.datasets.digits import write_digits_folder

    write_digits_folder(str(tmp_path), ratios=(0.6, 0.2, 0.2), seed=0, keep=[0, 1, 2])
    counts = {
        split: sum(len(files) for _, _, files in os.walk(tmp_path / split))
        for split in ('train', 'val', 'test')
    }
    assert counts == {'train': 322, 'val': 109, 'test': 106}
    assert json.loads((tmp_path / 'split.json').read_text())  # the record is still written
