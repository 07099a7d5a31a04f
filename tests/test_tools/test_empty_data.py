"""Folders without images end in one line (train, test, check_dataset), never a traceback."""

import os
import shutil

import pytest
from mmtl_testing import REPO_ROOT, import_tool, tool_status, write_color_folder

DIGITS = f'{REPO_ROOT}/configs/mobilenet-v2_digits.py'


def write_config(folder, data_root):
    path = folder / 'cfg.py'
    path.write_text(
        f'_base_ = [{DIGITS!r}]\ndata_root = {str(data_root)!r}\n'
        'model = dict(head=dict(num_classes=2))\n'
        'train_dataloader = dict(num_workers=0, dataset=dict(classes=None))\n'
        'val_dataloader = dict(num_workers=0, dataset=dict(classes=None))\n'
        'test_dataloader = dict(num_workers=0, dataset=dict(classes=None))\n'
    )
    return str(path)


def only_line(capsys):
    # In-process, an uncaught error would propagate out of main(): its exit code 1 and one
    # 'error:' line are what the user sees (mmengine's logger may also write to a stale stream).
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.fixture
def class_folders_without_images(tmp_path):
    for split in ('train', 'val', 'test'):
        for name in ('a', 'b'):
            os.makedirs(tmp_path / 'data' / split / name)
    return tmp_path / 'data'


def test_train_on_splits_without_class_folders_is_one_line(tmp_path, capsys):
    for split in ('train', 'val', 'test'):
        os.makedirs(tmp_path / 'data' / split)
    config = write_config(tmp_path, tmp_path / 'data')
    train = import_tool('tools/train.py').main
    assert tool_status(train, [config, '--work-dir', str(tmp_path / 'w')]) == 1
    line = only_line(capsys)
    assert 'no class sub-folders found in' in line and 'data/train' in line, line


def test_train_and_test_on_class_folders_without_images_are_one_line(
    tmp_path, capsys, class_folders_without_images
):
    config = write_config(tmp_path, class_folders_without_images)
    work_dir = tmp_path / 'w'
    code = tool_status(import_tool('tools/train.py').main, [config, '--work-dir', str(work_dir)])
    assert code == 1
    assert "found no images in the class folders of '" in only_line(capsys)
    (work_dir / 'best_accuracy_top1_epoch_1.pth').write_bytes(b'x')
    code = tool_status(import_tool('tools/test.py').main, [config, '--work-dir', str(work_dir)])
    assert code == 1
    line = only_line(capsys)
    assert line.startswith('error: test_dataloader.dataset: found no images'), line


def test_check_dataset_refuses_a_folder_without_images(tmp_path, capsys):
    write_color_folder(str(tmp_path / 'data'), {'a': (255, 0, 0)}, per_class=2)
    shutil.rmtree(tmp_path / 'data' / 'train' / 'a')
    os.makedirs(tmp_path / 'data' / 'train' / 'a')
    assert import_tool('tools/check_dataset.py').main([str(tmp_path / 'data')]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().startswith(f'error: {tmp_path}/data/train: no images'), captured
    assert f'{tmp_path}/data/val: 2 files checked' in captured.out


def test_an_unsplit_data_root_names_the_split_tool(tmp_path, capsys):
    write_color_folder(str(tmp_path / 'photos'), {'a': (255, 0, 0), 'b': (0, 0, 255)}, 2)
    config = write_config(tmp_path, tmp_path / 'photos' / 'train')  # class folders in it
    train = import_tool('tools/train.py').main
    assert tool_status(train, [config, '--work-dir', str(tmp_path / 'w')]) == 1
    line = only_line(capsys)
    assert 'split them first: mim run mmtl split_dataset' in line, line
