"""A class named twice in ``classes.txt`` (or in ``classes``) is refused, naming both places.

It was accepted: the config check even advised ``num_classes`` counting the repeat, and the
repeated class's second label, which no image has, never trained.
"""

import pytest

from mmtl.datasets import FolderDataset
from mmtl.utils.errors import ConfigError


@pytest.fixture
def classes_file(tmp_path):
    path = tmp_path / 'classes.txt'
    path.write_text('0\n1\n\n2\n1\n')  # '1' again on line 5 (a blank line is no class)
    return str(path)


def test_a_repeated_line_of_the_classes_file_is_refused_naming_both_lines(
    classes_file, digits_root
):
    with pytest.raises(ConfigError, match=r"classes.txt: class '1' at line 5 is already at line 2"):
        FolderDataset(data_root=digits_root, data_prefix='train', classes=classes_file)


def test_the_config_check_refuses_it_before_any_work(classes_file, digits_root):
    dataset_cfg = {'data_root': digits_root, 'data_prefix': 'train', 'classes': classes_file}
    with pytest.raises(ConfigError, match='line 5 is already at line 2'):
        FolderDataset.count_classes(dataset_cfg)


def test_a_repeated_name_in_the_classes_list_is_refused_naming_its_index(digits_root):
    with pytest.raises(ConfigError, match=r"class '2' at classes\[3\] is already at classes\[2\]"):
        FolderDataset(data_root=digits_root, data_prefix='train', classes=['0', '1', '2', '2'])


def test_distinct_classes_with_blank_lines_are_read_in_order(tmp_path, digits_root):
    path = tmp_path / 'classes.txt'
    path.write_text('2\n\n0\r\n1\n\n')
    dataset_cfg = {'data_root': digits_root, 'data_prefix': 'train', 'classes': str(path)}
    assert FolderDataset.count_classes(dataset_cfg) == (3, str(path))
    dataset = FolderDataset(
        data_root=digits_root, data_prefix='train', classes=str(path), scan_files='none'
    )
    assert dataset.metainfo['classes'] == ('2', '0', '1')
